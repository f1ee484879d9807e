// Package policy decides, with Cedar policies, what each principal may do
// to each resource and its tags.
//
// A decision names a principal (Tagway::Principal, from the auth file), an
// action (Tagway::Action, a core operation of package operation, in the
// groups "write" and "read"), a resource (Tagway::Resource with its canonical name, the fields
// of that name and its current tags; or, for calls decided as a whole,
// Tagway::Scope::"call") and a context: the surface, the tag keys of the
// call, the tags it would set and, evaluated once per key, the key and its
// value. docs/policy.md shows the IAM patterns written this way.
package policy

import (
	"fmt"
	"iter"
	"os"
	"slices"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"

	"github.com/tagway/tagway/internal/filewatch"
	"github.com/tagway/tagway/internal/memo"
	"github.com/tagway/tagway/internal/operation"
	"github.com/tagway/tagway/internal/principals"
)

// Action groups: `action in Tagway::Action::"write"` matches every action
// that changes tags, "read" every other.
const (
	GroupWrite = "write"
	GroupRead  = "read"
)

// Entity types.
const (
	typePrincipal = types.EntityType("Tagway::Principal")
	typeAction    = types.EntityType("Tagway::Action")
	typeResource  = types.EntityType("Tagway::Resource")
	typeScope     = types.EntityType("Tagway::Scope")
)

// Anonymous is the principal name of callers tagway did not authenticate
// (tagway without an auth file).
const Anonymous = "anonymous"

// actions holds the action entities with their groups as parents.
var actions = func() types.EntityMap {
	m := types.EntityMap{}
	for _, g := range []string{GroupWrite, GroupRead} {
		uid := types.NewEntityUID(typeAction, types.String(g))
		m[uid] = types.Entity{UID: uid}
	}
	for _, a := range operation.All {
		g := GroupRead
		if operation.Writes(a) {
			g = GroupWrite
		}
		uid := types.NewEntityUID(typeAction, types.String(a))
		m[uid] = types.Entity{UID: uid, Parents: types.NewEntityUIDSet(types.NewEntityUID(typeAction, types.String(g)))}
	}
	return m
}()

// or returns what r or o reads.
func (r reads) or(o reads) reads {
	return reads{keyed: r.keyed || o.keyed, tags: r.tags || o.tags, resource: r.resource || o.resource, identity: r.identity || o.identity}
}

// memo returns the key under which decisions by policies reading r about
// resource can be shared within a call: the same for every resource when
// they read none, the resource's attributes when they read those only; and
// false when they read its name or tags.
func (r reads) memo(resource *Resource) (memoKey, bool) {
	switch {
	case resource == nil:
		return memoKey{whole: true}, true
	case !r.resource && !r.tags:
		return memoKey{}, true
	case r.identity || r.tags:
		return memoKey{}, false
	}
	return memoKey{partition: resource.Partition, service: resource.Service, region: resource.Region, account: resource.Account, typ: resource.Type}, true
}

// memoKey is what a shared decision depends on: the call as a whole, or
// the attributes of resources, and the key decided.
type memoKey struct {
	whole                                         bool
	partition, service, region, account, typ, key string
}

// attribute records the read of an attribute of context or resource; it
// returns whether the walk should go on into the node's children.
func (r *reads) attribute(n xast.StrOpNode, isVar func(xast.IsNode, types.String) bool) bool {
	switch {
	case isVar(n.Arg, "context"):
		r.keyed = r.keyed || n.Value == "tagKey" || n.Value == "tagValue"
		return false
	case isVar(n.Arg, "resource"):
		r.resource = true
		r.identity = r.identity || n.Value == "name"
		return false
	}
	return true
}

// Set is a parsed policy file.
type Set struct {
	entries []entry
	tags    bool // a policy reads resource tags

	// subsets caches, by principal and action, the policies whose scope
	// can match them: Cedar evaluates every policy of a set, and most of a
	// file's policies are about other principals or actions.
	subsets *memo.Bounded[subsetKey, *subset]
	// principals caches each principal's entity (a principal never
	// changes; a reloaded file makes new ones), bounded like subsets.
	principals *memo.Bounded[*principals.Principal, types.Entity]
}

// entry is one policy of a Set.
type entry struct {
	id     cedar.PolicyID
	p      *cedar.Policy
	label  string // how errors and denials name the policy
	forbid bool
	reads
}

// reads is what a policy's conditions read, found in its syntax tree.
type reads struct {
	keyed    bool // context.tagKey or context.tagValue, or the whole context
	tags     bool // an entity's tags (hasTag, getTag)
	resource bool // the resource's attributes, in its scope or its conditions
	// identity: the resource itself (its name, or the entity compared or
	// tested for membership), beyond the attributes it shares with others
	// of its namespace.
	identity bool
}

// readsOf walks the syntax tree of p.
func readsOf(p *cedar.Policy) reads {
	a := (*xast.Policy)(p.AST())
	var r reads
	switch a.Resource.(type) {
	case xast.ScopeTypeAll:
	case xast.ScopeTypeIs:
		r.resource = true
	default:
		r.resource, r.identity = true, true
	}
	isVar := func(n xast.IsNode, name types.String) bool {
		v, ok := n.(xast.NodeTypeVariable)
		return ok && v.Name == name
	}
	for _, c := range a.Conditions {
		xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
			switch n := n.(type) {
			case xast.NodeTypeAccess:
				return r.attribute(n.StrOpNode, isVar)
			case xast.NodeTypeHas:
				return r.attribute(n.StrOpNode, isVar)
			case xast.NodeTypeIs:
				if isVar(n.Left, "resource") {
					r.resource = true
					return false
				}
			case xast.NodeTypeHasTag, xast.NodeTypeGetTag:
				r.tags = true
			case xast.NodeTypeVariable:
				// context or resource read whole (compared, or tested for
				// membership)
				r.keyed = r.keyed || n.Name == "context"
				if n.Name == "resource" {
					r.resource, r.identity = true, true
				}
			}
			return true
		})
	}
	return r
}

type subsetKey struct{ principal, action types.EntityUID }

// subset is the policies that can apply to one principal and action, split
// by whether they read the key being decided.
type subset struct {
	plain, keyed policyList
	tags         bool // a policy reads the resource's tags
	// plain and keyed policies read: what a call's decisions about its
	// resources can share.
	plainReads, keyedReads reads
}

// policyList is a cedar.PolicyIterator over entries.
type policyList []entry

// All implements cedar.PolicyIterator.
func (l policyList) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, e := range l {
			if !yield(e.id, e.p) {
				return
			}
		}
	}
}

// maxSubsets bounds the subset cache; past it, the cache starts over.
const maxSubsets = 4096

// Parse reads a policy file's content; name (its path) starts every error.
// A file without any policy is refused: it would deny everything, which is
// never what an operator means by an empty file.
func Parse(name string, src []byte) (*Set, error) {
	list, err := cedar.NewPolicyListFromBytes(name, src)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "parser error: "))
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: the file holds no policy; without --policy-file every principal may do everything within its scope", name)
	}
	s := &Set{subsets: memo.New[subsetKey, *subset](maxSubsets), principals: memo.New[*principals.Principal, types.Entity](maxSubsets)}
	for i, p := range list {
		pos := p.Position()
		label := fmt.Sprintf("%s:%d", name, pos.Line)
		if v, ok := p.Annotations()["id"]; ok {
			label = fmt.Sprintf("%q (%s:%d)", string(v), name, pos.Line)
		}
		e := entry{id: cedar.PolicyID(fmt.Sprintf("policy%d", i)), p: p, label: label, forbid: p.Effect() == cedar.Forbid, reads: readsOf(p)}
		s.tags = s.tags || e.tags
		s.entries = append(s.entries, e)
	}
	return s, nil
}

// Load reads and parses the policy file at path.
func Load(path string) (*Set, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src)
}

// NeedsTags reports whether a policy reads the current tags of resources,
// which must then be read before a change is decided.
func (s *Set) NeedsTags() bool { return s.tags }

// Resource is a resource a decision is about.
type Resource struct {
	// Name is the canonical name.
	Name string
	// The fields of the name; Account is the owner's for names without one.
	Partition, Service, Region, Account, Type string
	// Tags are the resource's current tags (Set.NeedsTags says whether they
	// are wanted).
	Tags map[string]string
}

// Request is one question: may Principal do Action to Resource?
type Request struct {
	// Principal is the caller; nil for an anonymous one.
	Principal *principals.Principal
	// Surface is grpc, aws or huawei.
	Surface string
	// Action is an operation (package operation).
	Action string
	// Resource is nil for a call decided as a whole (the listings of keys,
	// values and counts).
	Resource *Resource
	// TagKeys are the keys the call removes or sets.
	TagKeys []string
	// RequestTags are the tags the call sets.
	RequestTags map[string]string
}

// Decision is the answer to a Request.
type Decision struct {
	Allowed bool
	// Reason says why a request is denied: which policy forbids it, or that
	// none permits it.
	Reason string
	// Errors lists the policies that failed to evaluate, for the log. A
	// forbid that fails denies (Cedar would skip it, which would let a
	// mistyped forbid open access); a permit that fails is skipped.
	Errors []string
}

// Decide answers r. It is For(...).Decide(...) for one request.
func (s *Set) Decide(r Request) Decision {
	return s.For(r.Principal, r.Surface, r.Action, r.TagKeys, r.RequestTags).Decide(r.Resource)
}

// For returns the Decider of one call: a principal's call to action on a
// surface, removing or setting tagKeys and setting requestTags.
func (s *Set) For(p *principals.Principal, surface, action string, tagKeys []string, requestTags map[string]string) *Decider {
	d := &Decider{principal: s.principal(p), action: types.NewEntityUID(typeAction, types.String(action)),
		surface: types.String(surface), tagKeys: tagKeys, requestTags: requestTags}
	d.sub = s.subset(d.principal.UID, d.action)
	return d
}

// principal returns p's entity, made once.
func (s *Set) principal(p *principals.Principal) types.Entity {
	return s.principals.Get(p, func() types.Entity { return principalEntity(p) })
}

// subset returns the policies that can apply to principal and action.
func (s *Set) subset(principal, action types.EntityUID) *subset {
	return s.subsets.Get(subsetKey{principal, action}, func() *subset { return s.makeSubset(principal, action) })
}

// makeSubset sorts out the policies that can apply to principal and
// action.
func (s *Set) makeSubset(principal, action types.EntityUID) *subset {
	sub := &subset{}
	for _, e := range s.entries {
		if !scopeMatches(e.p, principal, action) {
			continue
		}
		sub.tags = sub.tags || e.tags
		if e.keyed {
			sub.keyed = append(sub.keyed, e)
			sub.keyedReads = sub.keyedReads.or(e.reads)
		} else {
			sub.plain = append(sub.plain, e)
			sub.plainReads = sub.plainReads.or(e.reads)
		}
	}
	return sub
}

// scopeMatches reports whether the principal and action scopes of p can
// match principal and action, as Cedar matches them: principals have no
// parents, and actions have their group as their parent. A scope of a form
// not known here matches, so that the policy is evaluated.
func scopeMatches(p *cedar.Policy, principal, action types.EntityUID) bool {
	a := (*xast.Policy)(p.AST())
	switch sc := a.Principal.(type) {
	case xast.ScopeTypeAll:
	case xast.ScopeTypeEq:
		if sc.Entity != principal {
			return false
		}
	case xast.ScopeTypeIn:
		if sc.Entity != principal {
			return false
		}
	case xast.ScopeTypeIs:
		if sc.Type != principal.Type {
			return false
		}
	case xast.ScopeTypeIsIn:
		if sc.Type != principal.Type || sc.Entity != principal {
			return false
		}
	}
	in := func(e types.EntityUID) bool {
		if e == action {
			return true
		}
		ent, ok := actions[action]
		return ok && ent.Parents.Contains(e)
	}
	switch sc := a.Action.(type) {
	case xast.ScopeTypeAll:
	case xast.ScopeTypeEq:
		return sc.Entity == action
	case xast.ScopeTypeIn:
		return in(sc.Entity)
	case xast.ScopeTypeInSet:
		return slices.ContainsFunc(sc.Entities, in)
	}
	return true
}

// Decider decides the requests of one call. It remembers the answers that
// do not depend on the resource, so that a batch pays for them once; it is
// not safe for concurrent use.
type Decider struct {
	sub       *subset
	principal types.Entity
	action    types.EntityUID
	surface   types.String

	tagKeys     []string
	requestTags map[string]string

	// The answers of the policies that do not read the resource, by the key
	// decided ("" for none), and the request contexts, by key.
	plainMemo, keyedMemo map[memoKey]result
	contexts             map[string]types.Record
	base                 types.RecordMap
}

// NeedsTags reports whether a policy that can apply to the call reads the
// current tags of resources, which must then be read before a change is
// decided.
func (d *Decider) NeedsTags() bool { return d.sub.tags }

// Decide answers whether the call may act on resource (nil: the call as a
// whole). The policies that read context.tagKey or context.tagValue are
// evaluated once per key, the others once; the request is allowed only if
// no forbid matches and, for every key, a permit does.
func (d *Decider) Decide(resource *Resource) Decision {
	if len(d.sub.plain) == 0 && len(d.sub.keyed) == 0 {
		return Decision{Reason: "no policy permits it"}
	}
	// The resource's entity is built only for a decision not shared.
	var ents entities
	var req cedar.Request
	// eval runs policies on the request about key, or reuses the answer of
	// an earlier resource when none of them reads the resource.
	eval := func(policies policyList, rd reads, memo *map[memoKey]result, key string) result {
		mk, shared := rd.memo(resource)
		mk.key = key
		if shared {
			if r, ok := (*memo)[mk]; ok {
				return r
			}
		}
		if ents.resource.UID.IsZero() {
			ents = entities{principal: d.principal, resource: resourceEntity(resource, d.sub.tags)}
			req = cedar.Request{Principal: d.principal.UID, Action: d.action, Resource: ents.resource.UID}
		}
		req.Context = d.context(key)
		r := run(policies, ents, req)
		if shared {
			if *memo == nil {
				*memo = map[memoKey]result{}
			}
			(*memo)[mk] = r
		}
		return r
	}
	plain := eval(d.sub.plain, d.sub.plainReads, &d.plainMemo, "")
	if plain.forbidden || len(d.sub.keyed) == 0 {
		return verdict(plain, false)
	}
	keys := d.tagKeys
	if len(keys) == 0 {
		keys = []string{""}
	}
	errs := slices.Clip(plain.errors)
	for _, k := range keys {
		r := eval(d.sub.keyed, d.sub.keyedReads, &d.keyedMemo, k)
		r.errors = append(errs, r.errors...)
		dec := verdict(r, plain.permitted)
		if !dec.Allowed {
			if k != "" {
				dec.Reason = fmt.Sprintf("for the key %q: %s", k, dec.Reason)
			}
			return dec
		}
		errs = slices.Clip(r.errors)
	}
	slices.Sort(errs)
	return Decision{Allowed: true, Errors: slices.Compact(errs)}
}

// context returns the request context about key ("" for none).
func (d *Decider) context(key string) types.Record {
	if rec, ok := d.contexts[key]; ok {
		return rec
	}
	if d.base == nil {
		keys := make([]types.Value, len(d.tagKeys))
		for i, k := range d.tagKeys {
			keys[i] = types.String(k)
		}
		reqTags := make(types.RecordMap, len(d.requestTags))
		for k, v := range d.requestTags {
			reqTags[types.String(k)] = types.String(v)
		}
		d.base = types.RecordMap{"surface": d.surface, "tagKeys": types.NewSet(keys...), "requestTags": types.NewRecord(reqTags)}
		d.contexts = map[string]types.Record{}
	}
	d.base["tagKey"], d.base["tagValue"] = types.String(key), types.String(d.requestTags[key])
	rec := types.NewRecord(d.base)
	d.contexts[key] = rec
	return rec
}

// result is what a list of policies said of one request.
type result struct {
	forbidden, permitted bool
	reason               string // the forbid that matched, or that failed
	errors               []string
}

// run evaluates policies on one request. A forbid that fails to evaluate
// counts as matching.
func run(policies policyList, ents entities, req cedar.Request) result {
	var r result
	if len(policies) == 0 {
		return r
	}
	ok, diag := cedar.Authorize(policies, ents, req)
	label := func(id cedar.PolicyID) (string, bool) {
		for _, e := range policies {
			if e.id == id {
				return e.label, e.forbid
			}
		}
		return string(id), false
	}
	for _, e := range diag.Errors {
		l, forbid := label(e.PolicyID)
		r.errors = append(r.errors, fmt.Sprintf("policy %s: %s", l, e.Message))
		if forbid && !r.forbidden {
			r.forbidden, r.reason = true, fmt.Sprintf("policy %s could not be evaluated, and a forbid that cannot be evaluated denies", l)
		}
	}
	switch {
	case r.forbidden:
	case ok == cedar.Allow:
		r.permitted = true
	case len(diag.Reasons) > 0:
		l, _ := label(diag.Reasons[0].PolicyID)
		r.forbidden, r.reason = true, "policy "+l+" forbids it"
	}
	return r
}

// verdict turns a result into a Decision; permitted says a permit matched
// already, elsewhere.
func verdict(r result, permitted bool) Decision {
	d := Decision{Errors: r.errors}
	switch {
	case r.forbidden:
		d.Reason = r.reason
	case r.permitted || permitted:
		d.Allowed = true
	default:
		d.Reason = "no policy permits it"
	}
	return d
}

// entities is the entity store of one decision: the principal, the
// resource and the actions.
type entities struct {
	principal, resource types.Entity
}

// Get implements types.EntityGetter.
func (e entities) Get(uid types.EntityUID) (types.Entity, bool) {
	switch uid {
	case e.principal.UID:
		return e.principal, true
	case e.resource.UID:
		return e.resource, true
	}
	a, ok := actions[uid]
	return a, ok
}

// principalEntity describes a caller: its name, whether it is an admin, and
// its AWS account and Huawei Cloud domain ("" when it has none).
func principalEntity(p *principals.Principal) types.Entity {
	name, admin, account, domain := Anonymous, p == nil, "", ""
	if p != nil {
		name, admin = p.Name, p.Admin
		if p.AWS != nil {
			account = p.AWS.Account
		}
		if p.Huawei != nil {
			domain = p.Huawei.DomainID
		}
	}
	return types.Entity{
		UID: types.NewEntityUID(typePrincipal, types.String(name)),
		Attributes: types.NewRecord(types.RecordMap{
			"name":     types.String(name),
			"admin":    types.Boolean(admin),
			"account":  types.String(account),
			"domainId": types.String(domain),
		}),
	}
}

// resourceEntity describes a resource, or the call as a whole for nil; its
// tags only when withTags (a policy reads them).
func resourceEntity(r *Resource, withTags bool) types.Entity {
	if r == nil {
		return types.Entity{UID: types.NewEntityUID(typeScope, "call")}
	}
	var tags types.RecordMap
	if withTags {
		tags = make(types.RecordMap, len(r.Tags))
		for k, v := range r.Tags {
			tags[types.String(k)] = types.String(v)
		}
	}
	return types.Entity{
		UID: types.NewEntityUID(typeResource, types.String(r.Name)),
		Attributes: types.NewRecord(types.RecordMap{
			"name":      types.String(r.Name),
			"partition": types.String(r.Partition),
			"service":   types.String(r.Service),
			"region":    types.String(r.Region),
			"account":   types.String(r.Account),
			"type":      types.String(r.Type),
		}),
		Tags: types.NewRecord(tags),
	}
}

// Source is the policy file and the version of it in force.
type Source = filewatch.Source[Set]

// Open loads the policy file at path.
func Open(path string) (*Source, error) { return filewatch.Open(path, Load) }

// Len returns the number of policies.
func (s *Set) Len() int { return len(s.entries) }
