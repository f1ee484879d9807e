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
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

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

// Set is a parsed policy file.
type Set struct {
	policies *cedar.PolicySet
	ids      map[cedar.PolicyID]string // how errors and denials name each policy
	tags     bool                      // a policy reads resource tags
	perKey   bool                      // a policy reads context.tagKey or context.tagValue
}

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
	s := &Set{policies: cedar.NewPolicySet(), ids: map[cedar.PolicyID]string{}}
	for i, p := range list {
		pos := p.Position()
		id := cedar.PolicyID(fmt.Sprintf("policy%d", i))
		label := fmt.Sprintf("%s:%d", name, pos.Line)
		if v, ok := p.Annotations()["id"]; ok {
			label = fmt.Sprintf("%q (%s:%d)", string(v), name, pos.Line)
		}
		s.policies.Add(id, p)
		s.ids[id] = label
		// Re-rendered, each policy names what it reads in one canonical
		// form, whatever the spacing or quoting of the file.
		text := p.MarshalCedar()
		s.tags = s.tags || bytes.Contains(text, []byte("hasTag(")) || bytes.Contains(text, []byte("getTag("))
		s.perKey = s.perKey || bytes.Contains(text, []byte("tagKey")) || bytes.Contains(text, []byte("tagValue"))
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

// Decide answers r. When a policy reads context.tagKey or context.tagValue,
// the request is decided once per key, and is allowed only if every key
// is.
func (s *Set) Decide(r Request) Decision {
	ents := entities{principal: principalEntity(r.Principal), resource: resourceEntity(r.Resource)}
	req := cedar.Request{
		Principal: ents.principal.UID,
		Action:    types.NewEntityUID(typeAction, types.String(r.Action)),
		Resource:  ents.resource.UID,
	}
	keys := make([]types.Value, len(r.TagKeys))
	for i, k := range r.TagKeys {
		keys[i] = types.String(k)
	}
	reqTags := make(types.RecordMap, len(r.RequestTags))
	for k, v := range r.RequestTags {
		reqTags[types.String(k)] = types.String(v)
	}
	base := types.RecordMap{
		"surface":     types.String(r.Surface),
		"tagKeys":     types.NewSet(keys...),
		"requestTags": types.NewRecord(reqTags),
		"tagKey":      types.String(""),
		"tagValue":    types.String(""),
	}
	if !s.perKey || len(r.TagKeys) == 0 {
		req.Context = types.NewRecord(base)
		return s.decide(ents, req)
	}
	var errs []string
	for _, k := range r.TagKeys {
		base["tagKey"], base["tagValue"] = types.String(k), types.String(r.RequestTags[k])
		req.Context = types.NewRecord(base)
		d := s.decide(ents, req)
		if !d.Allowed {
			d.Reason = fmt.Sprintf("for the key %q: %s", k, d.Reason)
			return d
		}
		errs = append(errs, d.Errors...)
	}
	slices.Sort(errs)
	return Decision{Allowed: true, Errors: slices.Compact(errs)}
}

// decide runs the policies on one request.
func (s *Set) decide(ents entities, req cedar.Request) Decision {
	ok, diag := cedar.Authorize(s.policies, ents, req)
	var d Decision
	for _, e := range diag.Errors {
		d.Errors = append(d.Errors, fmt.Sprintf("policy %s: %s", s.ids[e.PolicyID], e.Message))
		if p := s.policies.Get(e.PolicyID); p != nil && p.Effect() == cedar.Forbid {
			d.Reason = fmt.Sprintf("policy %s could not be evaluated, and a forbid that cannot be evaluated denies", s.ids[e.PolicyID])
			return d
		}
	}
	if ok == cedar.Allow {
		d.Allowed = true
		return d
	}
	if len(diag.Reasons) > 0 {
		d.Reason = "policy " + s.ids[diag.Reasons[0].PolicyID] + " forbids it"
	} else {
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

// resourceEntity describes a resource, or the call as a whole for nil.
func resourceEntity(r *Resource) types.Entity {
	if r == nil {
		return types.Entity{UID: types.NewEntityUID(typeScope, "call")}
	}
	tags := make(types.RecordMap, len(r.Tags))
	for k, v := range r.Tags {
		tags[types.String(k)] = types.String(v)
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

// Source is a policy file and the version of it in force.
type Source struct {
	path string
	cur  atomic.Pointer[Set]
}

// Open loads the policy file at path.
func Open(path string) (*Source, error) {
	s, err := Load(path)
	if err != nil {
		return nil, err
	}
	src := &Source{path: path}
	src.cur.Store(s)
	return src, nil
}

// Path returns the file's path.
func (s *Source) Path() string { return s.path }

// Current returns the version in force.
func (s *Source) Current() *Set { return s.cur.Load() }

// Reload reads the file again; a version that does not load is returned as
// an error and the one in force stays.
func (s *Source) Reload() (*Set, error) {
	set, err := Load(s.path)
	if err != nil {
		return nil, err
	}
	s.cur.Store(set)
	return set, nil
}

// Len returns the number of policies.
func (s *Set) Len() int { return len(s.ids) }
