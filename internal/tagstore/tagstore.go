// Package tagstore defines the storage contract behind tagway: a Store keeps
// the tags of resources, indexed so that listing by tag, listing keys and
// listing values cost what they return, never what the store holds.
//
// Resources are grouped in namespaces (see package arn). Every operation on
// one resource is atomic and keeps its namespace's indexes exact; a store
// never reports a key, value or match that no resource carries. Listing across
// namespaces is built on the per-namespace primitives by the caller.
//
// The behaviour every backend must have is pinned by package storetest.
package tagstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tagway/tagway/internal/arn"
)

// Store keeps tags. Implementations are safe for concurrent use.
type Store interface {
	// Apply applies each change atomically to its resource and returns one
	// error per change, in order: nil when applied, an error wrapping
	// ErrTagLimitExceeded when the change would exceed its limit (nothing
	// changed), ErrNotOwner or ErrNotHome (nothing changed), ErrLate when
	// ctx's deadline had passed by the store's clock when it came to the
	// change (nothing changed, and nothing ever will), or another error when
	// the store failed (the change may or may not have been applied, but
	// never after ctx's deadline). Changes must name distinct resources.
	Apply(ctx context.Context, changes []Change) []error

	// Get returns the resources among names that the store knows, in the
	// order of names. A resource is known once it has been tagged, and stays
	// known, with no tags, after its last tag is removed. A resource whose
	// name has no account is returned with its Owner, and a Homed one with
	// its Home, whoever and wherever that is.
	Get(ctx context.Context, names []arn.Name) ([]Resource, error)

	// Groups returns, in ascending order of Key, up to limit groups whose
	// Key is in r. Every group with a known resource is among them; one
	// whose first change was refused may be too, empty, until ForgetEmpty
	// forgets it.
	Groups(ctx context.Context, r arn.KeyRange, limit int) ([]arn.Group, error)

	// GroupsWithKey returns, as Groups does, groups in r that may hold a
	// resource carrying key: every group holding one is among them, and one
	// that no longer does may be too, until ForgetEmpty forgets it there.
	// It lets a listing by tag visit the groups where the tag is, not every
	// group in scope.
	GroupsWithKey(ctx context.Context, key string, r arn.KeyRange, limit int) ([]arn.Group, error)

	// Keys returns, in ascending order, up to limit keys not less than from
	// that some group may hold (as GroupsWithKey says).
	Keys(ctx context.Context, from string, limit int) ([]string, error)

	// ScanResources returns known resources of one group that match q, in
	// ascending order of Ident.
	ScanResources(ctx context.Context, g arn.Group, q ScanQuery) (ScanResult, error)

	// ScanKeys returns, for each group, distinct tag keys not less than
	// q.From, in ascending order, carried by at least one resource of q's
	// kinds in that group.
	ScanKeys(ctx context.Context, gs []arn.Group, q StringsQuery) ([]StringsResult, error)

	// ScanValues is ScanKeys for the distinct values of one key.
	ScanValues(ctx context.Context, gs []arn.Group, key string, q StringsQuery) ([]StringsResult, error)

	// Count returns how many known resources of one group match q. It costs
	// the matches of q's most selective filter, never every resource.
	Count(ctx context.Context, g arn.Group, q CountQuery) (int, error)

	// ForgetEmpty forgets up to limit groups that hold no known resource,
	// such as one whose only change was refused, and the keys groups no
	// longer hold (GroupsWithKey), and returns how many of those it forgot.
	// A group or key that a change is about to fill is never forgotten, so
	// a listing never misses a resource.
	ForgetEmpty(ctx context.Context, limit int) (int, error)

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error

	// Secret returns 32 random bytes shared by every process using this
	// store, created on first use. It signs page tokens, so that a token
	// issued by one replica is accepted by another.
	Secret(ctx context.Context) ([]byte, error)

	// Close releases the store's resources.
	Close() error
}

// Change is an atomic change to one resource.
type Change struct {
	Resource arn.Name
	// Set maps keys to the values to store; a key already present is
	// overwritten.
	Set map[string]string
	// Remove lists keys to delete; absent keys are ignored. A change that
	// only removes never makes an unknown resource known.
	Remove []string
	// Expect holds, for keys of Remove, the value the key must have to be
	// removed; a key whose value differs is left alone.
	Expect map[string]string
	// MaxTags, when positive, refuses a change that would leave the resource
	// with more than MaxTags counted keys and more than it had before.
	MaxTags int
	// ExemptPrefixes are key prefixes, in lower case, matched without regard
	// to ASCII case, whose keys do not count toward MaxTags.
	ExemptPrefixes []string
	// MaxTotal, when positive, refuses a change that would leave the
	// resource with more than MaxTotal keys in all, exempt ones included,
	// and more than it had before.
	MaxTotal int
	// Owner matters only for a name without an account (an S3 bucket, say):
	// it is the account the resource belongs to, "" for none. The first
	// change that would make the resource known records its owner,
	// atomically, even when a limit then refuses it; a later change with
	// another owner is refused with ErrNotOwner and changes nothing, unless
	// AnyOwner is set.
	Owner string
	// AnyOwner applies the change to a resource without an account whoever
	// owns it; a resource it creates gets Owner.
	AnyOwner bool
	// Home matters only for a Homed name (an S3 bucket): the region the
	// resource lives in, recorded with its owner by the change that creates
	// it; "" for none. A change whose Home is set is refused with
	// ErrNotHome, changing nothing, when the resource lives in another
	// region.
	Home string
}

// Removes reports whether c removes key from a resource where it has the
// value current.
func (c Change) Removes(key, current string) bool {
	if !slices.Contains(c.Remove, key) {
		return false
	}
	want, ok := c.Expect[key]
	return !ok || want == current
}

// Check applies c's limits to a resource with the tags cur: it returns a
// LimitError when the change would leave more keys than MaxTotal allows, or
// more counted keys than MaxTags allows, and more than the resource had. A
// backend that cannot call it (a Redis script) must count the same way.
func (c Change) Check(cur map[string]string) error {
	over := func(limit int, counts func(key string) bool) *LimitError {
		if limit <= 0 {
			return nil
		}
		before, after := 0, 0
		for k, v := range cur {
			if counts(k) {
				before++
				if !c.Removes(k, v) {
					after++
				}
			}
		}
		for k := range c.Set {
			if v, had := cur[k]; (!had || c.Removes(k, v)) && counts(k) {
				after++
			}
		}
		if after > limit && after > before {
			return &LimitError{Count: after, Max: limit}
		}
		return nil
	}
	if e := over(c.MaxTotal, func(string) bool { return true }); e != nil {
		return e
	}
	if e := over(c.MaxTags, func(k string) bool { return !Exempt(k, c.ExemptPrefixes) }); e != nil {
		return e
	}
	return nil
}

// Tag is a key and its value.
type Tag struct {
	Key   string
	Value string
}

// SortTags sorts tags by key.
func SortTags(tags []Tag) {
	slices.SortFunc(tags, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
}

// TagsOf returns the tags of a key -> value map, sorted by key.
func TagsOf(m map[string]string) []Tag {
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{Key: k, Value: v})
	}
	SortTags(out)
	return out
}

// Resource is a known resource and its tags, sorted by key.
type Resource struct {
	Name string
	// Owner is the account a resource without an account in its name
	// belongs to ("" for none); "" for every other resource.
	Owner string
	// Home is the region a Homed resource lives in ("" for none known); ""
	// for every other resource.
	Home string
	Tags []Tag
}

// Filter selects resources carrying Key with one of Values, or with any value
// when Values is empty.
type Filter struct {
	Key    string
	Values []string
}

// ScanQuery selects resources within one group.
type ScanQuery struct {
	// Kinds selects services and types (arn.Kinds); nil selects all.
	Kinds []arn.Kind
	// Filters must all match. Empty selects every known resource.
	Filters []Filter
	// UntaggedOnly selects known resources that carry no tag; it excludes
	// Filters.
	UntaggedOnly bool
	// From is an inclusive lower bound on the Ident; "" starts at the
	// beginning.
	From string
	// Limit is the most resources to return.
	Limit int
	// Budget is the most candidates to examine before returning; a scan
	// that runs out of budget returns what it found with More set.
	Budget int
}

// ScanResult is the outcome of ScanResources.
type ScanResult struct {
	Resources []Resource
	// More reports that the group may hold further matches; continue with
	// From = Next.
	More bool
	Next string
	// Examined counts the candidates the scan looked at: the cost of the
	// call, never more than Budget.
	Examined int
}

// StringsQuery selects distinct keys or values within groups.
type StringsQuery struct {
	// Kinds selects the services and types whose resources count; nil
	// selects all.
	Kinds []arn.Kind
	// From is an inclusive lower bound; "" starts at the beginning.
	From string
	// Limit is the most strings to return per group.
	Limit int
	// Budget is the most candidates to examine per group when Kinds is
	// not nil (each string must then be checked against the kinds); 0 means
	// no budget.
	Budget int
}

// StringsResult is one group's answer to a StringsQuery.
type StringsResult struct {
	Strings []string
	// More reports that the group may hold further strings not less than
	// Next that the scan did not reach: it ran out of budget.
	More bool
	Next string
}

// CountQuery selects resources of one group to count.
type CountQuery struct {
	Kinds        []arn.Kind
	Filters      []Filter
	UntaggedOnly bool
}

// Successor returns the least string greater than s, to continue a scan
// after s: scans take inclusive lower bounds, because "" is a valid value.
func Successor(s string) string { return s + "\x00" }

// ErrTagLimitExceeded reports a change refused because the resource would
// carry too many tags.
var ErrTagLimitExceeded = errors.New("tag limit exceeded")

// ErrNotOwner reports a change refused because the resource, whose name has
// no account, belongs to another owner than the change's.
var ErrNotOwner = errors.New("the resource belongs to another owner")

// ErrNotHome reports a change refused because the resource, whose name has
// no region, lives in another region than the change's Home.
var ErrNotHome = errors.New("the resource lives in another region")

// Placement is where a resource whose namespace its name alone does not
// fix (arn.Name.Placed) lives: its owner and its home region.
type Placement struct{ Owner, Home string }

// Place returns the placement a change creating its resource records.
func (c Change) Place() Placement {
	var p Placement
	if c.Resource.Account == "" {
		p.Owner = c.Owner
	}
	if c.Resource.Homed() {
		p.Home = c.Home
	}
	return p
}

// Admits reports why c may not act on a resource placed at p: ErrNotOwner,
// ErrNotHome, or nil.
func (c Change) Admits(p Placement) error {
	switch {
	case c.Resource.Account == "" && p.Owner != c.Owner && !c.AnyOwner:
		return ErrNotOwner
	case c.Resource.Homed() && c.Home != "" && p.Home != "" && p.Home != c.Home:
		return ErrNotHome
	}
	return nil
}

// In returns the group of n placed at p.
func (p Placement) In(n arn.Name) arn.Group {
	return n.Group(p.Owner, p.Home)
}

// LimitError is the error Apply returns for a change refused by its MaxTags.
type LimitError struct {
	// Count is how many counted tags the resource would have carried.
	Count int
	// Max is the limit.
	Max int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("the resource would carry %d tags, more than the %d allowed", e.Count, e.Max)
}

// Unwrap makes errors.Is(err, ErrTagLimitExceeded) hold.
func (e *LimitError) Unwrap() error { return ErrTagLimitExceeded }
