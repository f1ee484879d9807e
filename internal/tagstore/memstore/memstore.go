// Package memstore is the in-process tag store: tagway's embedded default,
// fast and exact, and gone when the process exits.
package memstore

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// btreeDegree suits small string sets; the trees hold idents, keys and
// values.
const btreeDegree = 16

type set = btree.BTreeG[string]

func newSet() *set { return btree.NewOrderedG[string](btreeDegree) }

// Store is a tagstore.Store held in memory behind one lock.
type Store struct {
	secret []byte

	mu     sync.RWMutex
	closed bool
	groups map[string]*group // by arn.Group.Key
	order  *set              // group keys
	places map[string]tagstore.Placement
	// keyGroups holds, for each key some resource carries, the groups
	// holding such a resource; keyOrder those keys.
	keyGroups map[string]*set
	keyOrder  *set

	feed    feed
	journal journal
}

var _ tagstore.Store = (*Store)(nil)

// group holds the resources of one group and their indexes, by Ident.
type group struct {
	g        arn.Group
	tags     map[string]map[string]string // ident -> key -> value, for every known resource
	known    *set                         // idents of known resources
	untagged *set                         // idents of known resources without tags
	keys     map[string]*keyIndex         // keys carried by at least one resource
	keyOrder *set
	onKey    func(g, k string, held bool) // told when the group starts or stops holding a key
}

// keyIndex lists the resources carrying one key, in all and by value.
type keyIndex struct {
	resources  *set
	values     map[string]*set // value -> idents
	valueOrder *set
}

// ErrClosed is returned by every method once Close has been called.
var ErrClosed = errors.New("memstore: store is closed")

// New returns an empty store.
func New(opts ...Option) *Store {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms.
	s := &Store{secret: secret, groups: map[string]*group{}, order: newSet(), places: map[string]tagstore.Placement{}, keyGroups: map[string]*set{}, keyOrder: newSet()}
	s.feed = feed{retention: DefaultFeedRetention, max: DefaultFeedMax, logs: map[string]*feedLog{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Apply implements tagstore.Store. A change whose context's deadline has
// passed when the lock is taken is refused with tagstore.ErrLate.
func (s *Store) Apply(ctx context.Context, changes []tagstore.Change) []error {
	errs := make([]error, len(changes))
	var changed []string
	defer func() {
		// Readers hear of the changes once the lock is released, so that
		// telling them costs no writer a wait.
		if len(changed) > 0 {
			s.feed.signal(changed)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	deadline, hasDeadline := ctx.Deadline()
	origin := tagstore.OriginOf(ctx)
	for i, c := range changes {
		switch {
		case s.closed:
			errs[i] = ErrClosed
		case hasDeadline && time.Now().After(deadline):
			errs[i] = tagstore.ErrLate
		default:
			var g string
			g, errs[i] = s.apply(c, origin)
			if g != "" && !slices.Contains(changed, g) {
				changed = append(changed, g)
			}
		}
	}
	return errs
}

// apply applies c and returns the key of the group whose feed it added
// to, if any.
func (s *Store) apply(c tagstore.Change, origin tagstore.Origin) (string, error) {
	g, err := s.change(c)
	if err != nil || g == nil {
		return "", err
	}
	cur := g.gr.tags[g.ident]
	if !s.feed.on() {
		return "", nil
	}
	if len(g.diff) == 0 {
		return "", nil
	}
	s.feed.record(tagstore.Event{Group: g.gr.g, Ident: g.ident, Changes: g.diff, Tags: tagstore.TagsOf(cur), Origin: origin})
	return g.gr.g.Key(), nil
}

// changed is the resource a change applied to, and, with the feed on,
// what it did to its tags.
type changed struct {
	gr    *group
	ident string
	diff  []tagstore.KeyChange
}

// prior is a key's value before a change touched it.
type prior struct {
	key, old string
	had      bool
}

// diffOf returns what a change did to tags, from the values its keys had
// before it (sorted by key; nil when nothing changed): only the keys it
// touched, rather than a copy of every tag taken before it.
func diffOf(priors []prior, tags map[string]string) []tagstore.KeyChange {
	var out []tagstore.KeyChange
	for _, p := range priors {
		v, has := tags[p.key]
		if has != p.had || v != p.old {
			out = append(out, tagstore.KeyChange{Key: p.key, Old: p.old, New: v, Had: p.had, Has: has})
		}
	}
	tagstore.SortChanges(out)
	return out
}

func (s *Store) change(c tagstore.Change) (*changed, error) {
	g, ok, err := s.claim(c)
	if err != nil || !ok {
		return nil, err
	}
	ident := c.Resource.Ident()
	gr := s.groups[g.Key()]
	var cur map[string]string
	if gr != nil {
		cur = gr.tags[ident]
	}
	if cur == nil && len(c.Set) == 0 {
		return nil, nil // removing from an unknown resource changes nothing
	}
	if err := c.Check(cur); err != nil {
		return nil, err
	}
	var priors []prior // with the feed on: each key the change touches, as it was
	touch := func(k string) {
		if !s.feed.on() || slices.ContainsFunc(priors, func(p prior) bool { return p.key == k }) {
			return
		}
		old, had := cur[k]
		priors = append(priors, prior{k, old, had})
	}
	if gr == nil {
		gr = &group{g: g, tags: map[string]map[string]string{}, known: newSet(), untagged: newSet(), keys: map[string]*keyIndex{}, keyOrder: newSet(), onKey: s.onKey}
		s.groups[g.Key()] = gr
		s.order.ReplaceOrInsert(g.Key())
	}
	if cur == nil {
		cur = map[string]string{}
		gr.tags[ident] = cur
		gr.known.ReplaceOrInsert(ident)
	}
	for _, k := range c.Remove {
		if old, ok := cur[k]; ok && c.Removes(k, old) {
			touch(k)
			delete(cur, k)
			gr.unindex(ident, k, old)
		}
	}
	for k, v := range c.Set {
		if old, ok := cur[k]; ok {
			if old == v {
				continue
			}
			gr.unindex(ident, k, old)
		}
		touch(k)
		cur[k] = v
		gr.index(ident, k, v)
	}
	if len(cur) == 0 {
		gr.untagged.ReplaceOrInsert(ident)
	} else {
		gr.untagged.Delete(ident)
	}
	return &changed{gr: gr, ident: ident, diff: diffOf(priors, cur)}, nil
}

// claim returns the group c applies to: for a Placed name, the group of its
// placement, recorded by the first change that would create it. It returns
// false, and no error, for a change that has nothing to do.
func (s *Store) claim(c tagstore.Change) (arn.Group, bool, error) {
	if !c.Resource.Placed() {
		return c.Resource.Group("", ""), true, nil
	}
	name := c.Resource.String()
	p, claimed := s.places[name]
	switch {
	case claimed:
		if err := c.Admits(p); err != nil {
			return arn.Group{}, false, err
		}
	case len(c.Set) == 0:
		return arn.Group{}, false, nil // removing from an unknown resource changes nothing
	default:
		p = c.Place()
		s.places[name] = p
	}
	return p.In(c.Resource), true, nil
}

func (gr *group) index(ident, k, v string) {
	ki := gr.keys[k]
	if ki == nil {
		ki = &keyIndex{resources: newSet(), values: map[string]*set{}, valueOrder: newSet()}
		gr.keys[k] = ki
		gr.keyOrder.ReplaceOrInsert(k)
		gr.onKey(gr.g.Key(), k, true)
	}
	ki.resources.ReplaceOrInsert(ident)
	vs := ki.values[v]
	if vs == nil {
		vs = newSet()
		ki.values[v] = vs
		ki.valueOrder.ReplaceOrInsert(v)
	}
	vs.ReplaceOrInsert(ident)
}

func (gr *group) unindex(ident, k, v string) {
	ki := gr.keys[k]
	ki.resources.Delete(ident)
	if ki.resources.Len() == 0 {
		delete(gr.keys, k)
		gr.keyOrder.Delete(k)
		gr.onKey(gr.g.Key(), k, false)
		return
	}
	vs := ki.values[v]
	vs.Delete(ident)
	if vs.Len() == 0 {
		delete(ki.values, v)
		ki.valueOrder.Delete(v)
	}
}

// onKey keeps keyGroups exact as groups start and stop holding keys.
func (s *Store) onKey(g, k string, held bool) {
	gs := s.keyGroups[k]
	if held {
		if gs == nil {
			gs = newSet()
			s.keyGroups[k] = gs
			s.keyOrder.ReplaceOrInsert(k)
		}
		gs.ReplaceOrInsert(g)
		return
	}
	gs.Delete(g)
	if gs.Len() == 0 {
		delete(s.keyGroups, k)
		s.keyOrder.Delete(k)
	}
}

// GroupsWithKey implements tagstore.Store. The memory store knows exactly
// which groups hold a key.
func (s *Store) GroupsWithKey(ctx context.Context, key string, r arn.KeyRange, limit int) ([]arn.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var out []arn.Group
	if gs := s.keyGroups[key]; gs != nil {
		gs.AscendGreaterOrEqual(r.Low, func(k string) bool {
			if k >= r.High || len(out) == limit {
				return false
			}
			out = append(out, s.groups[k].g)
			return true
		})
	}
	return out, nil
}

// Keys implements tagstore.Store.
func (s *Store) Keys(ctx context.Context, from string, limit int) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var out []string
	s.keyOrder.AscendGreaterOrEqual(from, func(k string) bool {
		if len(out) == limit {
			return false
		}
		out = append(out, k)
		return true
	})
	return out, nil
}

// Get implements tagstore.Store.
func (s *Store) Get(ctx context.Context, names []arn.Name) ([]tagstore.Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var out []tagstore.Resource
	for _, name := range names {
		var p tagstore.Placement
		if name.Placed() {
			p = s.places[name.String()]
		}
		gr := s.groups[p.In(name).Key()]
		if gr == nil {
			continue
		}
		if tags, ok := gr.tags[name.Ident()]; ok {
			out = append(out, resource(name.String(), p, tags))
		}
	}
	return out, nil
}

// resource returns a Resource of the given placement and tags.
func resource(name string, p tagstore.Placement, tags map[string]string) tagstore.Resource {
	return tagstore.Resource{Name: name, Owner: p.Owner, Home: p.Home, Tags: tagstore.TagsOf(tags)}
}

// placement returns the placement of a resource of gr from its ident: the
// group's account and region, for a name that lacks them.
func (gr *group) placement(ident string) tagstore.Placement {
	n, err := arn.Parse(gr.g.Name(ident))
	if err != nil {
		return tagstore.Placement{}
	}
	var p tagstore.Placement
	if n.Account == "" {
		p.Owner = gr.g.Account
	}
	if n.Homed() {
		p.Home = gr.g.Region
	}
	return p
}

// Groups implements tagstore.Store.
func (s *Store) Groups(ctx context.Context, r arn.KeyRange, limit int) ([]arn.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var out []arn.Group
	s.order.AscendGreaterOrEqual(r.Low, func(k string) bool {
		if k >= r.High || len(out) == limit {
			return false
		}
		out = append(out, s.groups[k].g)
		return true
	})
	return out, nil
}

// ScanResources implements tagstore.Store.
func (s *Store) ScanResources(ctx context.Context, g arn.Group, q tagstore.ScanQuery) (tagstore.ScanResult, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var res tagstore.ScanResult
	if s.closed {
		return res, ErrClosed
	}
	gr := s.groups[g.Key()]
	if gr == nil || q.Limit <= 0 {
		return res, nil
	}
	drive := gr.driver(q.Filters, q.UntaggedOnly)
	if drive == nil {
		return res, nil
	}
	drive.AscendGreaterOrEqual(q.From, func(ident string) bool {
		res.Examined++
		tags := gr.tags[ident]
		if arn.MatchKinds(q.Kinds, ident) && matches(tags, q.Filters) {
			if len(res.Resources) == q.Limit {
				// A further match exists: stop before it.
				res.More, res.Next = true, ident
				return false
			}
			res.Resources = append(res.Resources, resource(g.Name(ident), gr.placement(ident), tags))
		}
		if q.Budget > 0 && res.Examined >= q.Budget {
			res.More, res.Next = true, tagstore.Successor(ident)
			return false
		}
		return true
	})
	return res, nil
}

// driver picks the smallest index that holds every match, or nil when
// nothing can match.
func (gr *group) driver(filters []tagstore.Filter, untaggedOnly bool) *set {
	if untaggedOnly {
		return gr.untagged
	}
	if len(filters) == 0 {
		return gr.known
	}
	var best *set
	for _, f := range filters {
		ki := gr.keys[f.Key]
		if ki == nil {
			return nil
		}
		cand := ki.resources
		if len(f.Values) == 1 {
			cand = ki.values[f.Values[0]]
			if cand == nil {
				return nil
			}
		}
		if best == nil || cand.Len() < best.Len() {
			best = cand
		}
	}
	return best
}

func matches(tags map[string]string, filters []tagstore.Filter) bool {
	for _, f := range filters {
		v, ok := tags[f.Key]
		if !ok || len(f.Values) > 0 && !slices.Contains(f.Values, v) {
			return false
		}
	}
	return true
}

// Count implements tagstore.Store.
func (s *Store) Count(ctx context.Context, g arn.Group, q tagstore.CountQuery) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	gr := s.groups[g.Key()]
	if gr == nil {
		return 0, nil
	}
	drive := gr.driver(q.Filters, q.UntaggedOnly)
	if drive == nil {
		return 0, nil
	}
	n := 0
	drive.Ascend(func(ident string) bool {
		if arn.MatchKinds(q.Kinds, ident) && matches(gr.tags[ident], q.Filters) {
			n++
		}
		return true
	})
	return n, nil
}

// ScanKeys implements tagstore.Store.
func (s *Store) ScanKeys(ctx context.Context, gs []arn.Group, q tagstore.StringsQuery) ([]tagstore.StringsResult, error) {
	return s.scan(gs, q, func(gr *group) (*set, func(string) *set) {
		return gr.keyOrder, func(k string) *set { return gr.keys[k].resources }
	})
}

// ScanValues implements tagstore.Store.
func (s *Store) ScanValues(ctx context.Context, gs []arn.Group, key string, q tagstore.StringsQuery) ([]tagstore.StringsResult, error) {
	return s.scan(gs, q, func(gr *group) (*set, func(string) *set) {
		ki := gr.keys[key]
		if ki == nil {
			return nil, nil
		}
		return ki.valueOrder, func(v string) *set { return ki.values[v] }
	})
}

// scan lists the strings of one index of each group (keys or values),
// keeping, when q has kinds, those some resource of the kinds carries
// (holders returns the resources behind a string).
func (s *Store) scan(gs []arn.Group, q tagstore.StringsQuery, index func(*group) (*set, func(string) *set)) ([]tagstore.StringsResult, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	out := make([]tagstore.StringsResult, len(gs))
	for i, g := range gs {
		gr := s.groups[g.Key()]
		if gr == nil || q.Limit <= 0 {
			continue
		}
		strs, holders := index(gr)
		if strs == nil {
			continue
		}
		examined := 0
		strs.AscendGreaterOrEqual(q.From, func(v string) bool {
			if len(out[i].Strings) == q.Limit {
				return false
			}
			examined++
			if q.Kinds == nil || anyOfKinds(holders(v), q.Kinds) {
				out[i].Strings = append(out[i].Strings, v)
			}
			if q.Kinds != nil && q.Budget > 0 && examined >= q.Budget {
				out[i].More, out[i].Next = true, tagstore.Successor(v)
				return false
			}
			return true
		})
	}
	return out, nil
}

// anyOfKinds reports whether a resource of kinds is in idents.
func anyOfKinds(idents *set, kinds []arn.Kind) bool {
	found := false
	idents.Ascend(func(ident string) bool {
		found = arn.MatchKinds(kinds, ident)
		return !found
	})
	return found
}

// ForgetEmpty implements tagstore.Store. The memory store applies every
// change under one lock and never keeps an empty group, so it has none.
func (s *Store) ForgetEmpty(ctx context.Context, limit int) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	return 0, nil
}

// Ping implements tagstore.Store.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Secret implements tagstore.Store.
func (s *Store) Secret(ctx context.Context) ([]byte, error) { return s.secret, nil }

// Close implements tagstore.Store. It drops every tag.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.groups, s.order, s.places = nil, newSet(), nil
	return nil
}
