// Package memstore is the in-process tag store: tagway's embedded default,
// fast and exact, and gone when the process exits.
package memstore

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/google/btree"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// btreeDegree suits small string sets; the trees hold names, keys and values.
const btreeDegree = 16

type set = btree.BTreeG[string]

func newSet() *set { return btree.NewOrderedG[string](btreeDegree) }

// Store is a tagstore.Store held in memory behind one lock.
type Store struct {
	secret []byte

	mu     sync.RWMutex
	closed bool
	nss    map[string]*namespace         // by arn.Namespace.Key
	order  *set                          // namespace keys
	places map[string]tagstore.Placement // of each arn.Name.Placed name ever created
}

var _ tagstore.Store = (*Store)(nil)

// namespace holds the resources of one namespace and their indexes.
type namespace struct {
	ns       arn.Namespace
	tags     map[string]map[string]string // local part -> key -> value, for every known resource
	known    *set                         // local parts of known resources
	untagged *set                         // local parts of known resources without tags
	keys     map[string]*keyIndex         // keys carried by at least one resource
	keyOrder *set
}

// keyIndex lists the resources carrying one key, in all and by value.
type keyIndex struct {
	resources  *set
	values     map[string]*set // value -> local parts
	valueOrder *set
}

// ErrClosed is returned by every method once Close has been called.
var ErrClosed = errors.New("memstore: store is closed")

// New returns an empty store.
func New() *Store {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms.
	return &Store{secret: secret, nss: map[string]*namespace{}, order: newSet(), places: map[string]tagstore.Placement{}}
}

// Apply implements tagstore.Store.
func (s *Store) Apply(ctx context.Context, changes []tagstore.Change) []error {
	errs := make([]error, len(changes))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range changes {
		if s.closed {
			errs[i] = ErrClosed
			continue
		}
		errs[i] = s.apply(c)
	}
	return errs
}

func (s *Store) apply(c tagstore.Change) error {
	ns, err := s.claim(c)
	if err != nil || ns == nil {
		return err
	}
	nsKey := ns.Key()
	local := c.Resource.Local()
	n := s.nss[nsKey]
	var cur map[string]string
	if n != nil {
		cur = n.tags[local]
	}
	known := cur != nil
	if !known && len(c.Set) == 0 {
		return nil // removing from an unknown resource changes nothing
	}

	if err := c.Check(cur); err != nil {
		return err
	}

	if n == nil {
		n = &namespace{
			ns: *ns, tags: map[string]map[string]string{},
			known: newSet(), untagged: newSet(), keys: map[string]*keyIndex{}, keyOrder: newSet(),
		}
		s.nss[nsKey] = n
		s.order.ReplaceOrInsert(nsKey)
	}
	if cur == nil {
		cur = map[string]string{}
		n.tags[local] = cur
		n.known.ReplaceOrInsert(local)
	}
	for _, k := range c.Remove {
		if old, ok := cur[k]; ok && c.Removes(k, old) {
			delete(cur, k)
			n.unindex(local, k, old)
		}
	}
	for k, v := range c.Set {
		if old, ok := cur[k]; ok {
			if old == v {
				continue
			}
			n.unindex(local, k, old)
		}
		cur[k] = v
		n.index(local, k, v)
	}
	if len(cur) == 0 {
		n.untagged.ReplaceOrInsert(local)
	} else {
		n.untagged.Delete(local)
	}
	return nil
}

// claim returns the namespace c applies to: for a Placed name, the
// namespace of its placement, recorded by the first change that would create
// it. It returns nil, and no error, for a change that has nothing to do.
func (s *Store) claim(c tagstore.Change) (*arn.Namespace, error) {
	if !c.Resource.Placed() {
		ns := c.Resource.Namespace()
		return &ns, nil
	}
	name := c.Resource.String()
	p, claimed := s.places[name]
	switch {
	case claimed:
		if err := c.Admits(p); err != nil {
			return nil, err
		}
	case len(c.Set) == 0:
		return nil, nil // removing from an unknown resource changes nothing
	default:
		p = c.Place()
		s.places[name] = p
	}
	ns := p.In(c.Resource)
	return &ns, nil
}

func (n *namespace) index(local, k, v string) {
	ki := n.keys[k]
	if ki == nil {
		ki = &keyIndex{resources: newSet(), values: map[string]*set{}, valueOrder: newSet()}
		n.keys[k] = ki
		n.keyOrder.ReplaceOrInsert(k)
	}
	ki.resources.ReplaceOrInsert(local)
	vs := ki.values[v]
	if vs == nil {
		vs = newSet()
		ki.values[v] = vs
		ki.valueOrder.ReplaceOrInsert(v)
	}
	vs.ReplaceOrInsert(local)
}

func (n *namespace) unindex(local, k, v string) {
	ki := n.keys[k]
	ki.resources.Delete(local)
	if ki.resources.Len() == 0 {
		delete(n.keys, k)
		n.keyOrder.Delete(k)
		return
	}
	vs := ki.values[v]
	vs.Delete(local)
	if vs.Len() == 0 {
		delete(ki.values, v)
		ki.valueOrder.Delete(v)
	}
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
		ns := name.Namespace()
		if name.Placed() {
			ns = s.places[name.String()].In(name)
		}
		n := s.nss[ns.Key()]
		if n == nil {
			continue
		}
		if tags, ok := n.tags[name.Local()]; ok {
			out = append(out, tagstore.Resource{Name: name.String(), Owner: ns.Owner, Home: ns.Home, Tags: tagstore.TagsOf(tags)})
		}
	}
	return out, nil
}

// Namespaces implements tagstore.Store.
func (s *Store) Namespaces(ctx context.Context, prefix, from string, limit int) ([]arn.Namespace, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var out []arn.Namespace
	s.order.AscendGreaterOrEqual(max(prefix, from), func(k string) bool {
		if !strings.HasPrefix(k, prefix) || len(out) == limit {
			return false
		}
		out = append(out, s.nss[k].ns)
		return true
	})
	return out, nil
}

// ScanResources implements tagstore.Store.
func (s *Store) ScanResources(ctx context.Context, ns arn.Namespace, q tagstore.ScanQuery) (tagstore.ScanResult, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var res tagstore.ScanResult
	if s.closed {
		return res, ErrClosed
	}
	n := s.nss[ns.Key()]
	if n == nil || q.Limit <= 0 {
		return res, nil
	}
	drive := n.driver(q)
	if drive == nil {
		return res, nil
	}
	drive.AscendGreaterOrEqual(q.From, func(local string) bool {
		res.Examined++
		tags := n.tags[local]
		if matches(tags, q.Filters) {
			if len(res.Resources) == q.Limit {
				// A further match exists: stop before it.
				res.More, res.Next = true, local
				return false
			}
			res.Resources = append(res.Resources, tagstore.Resource{Name: ns.Name(local), Owner: ns.Owner, Home: ns.Home, Tags: tagstore.TagsOf(tags)})
		}
		if q.Budget > 0 && res.Examined >= q.Budget {
			res.More, res.Next = true, tagstore.Successor(local)
			return false
		}
		return true
	})
	return res, nil
}

// driver picks the smallest index that holds every match of q, or nil when
// nothing can match.
func (n *namespace) driver(q tagstore.ScanQuery) *set {
	if q.UntaggedOnly {
		return n.untagged
	}
	if len(q.Filters) == 0 {
		return n.known
	}
	var best *set
	for _, f := range q.Filters {
		ki := n.keys[f.Key]
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

// ScanKeys implements tagstore.Store.
func (s *Store) ScanKeys(ctx context.Context, nss []arn.Namespace, from string, limit int) ([][]string, error) {
	return s.scan(nss, from, limit, func(n *namespace) *set { return n.keyOrder })
}

// ScanValues implements tagstore.Store.
func (s *Store) ScanValues(ctx context.Context, nss []arn.Namespace, key, from string, limit int) ([][]string, error) {
	return s.scan(nss, from, limit, func(n *namespace) *set {
		if ki := n.keys[key]; ki != nil {
			return ki.valueOrder
		}
		return nil
	})
}

func (s *Store) scan(nss []arn.Namespace, from string, limit int, index func(*namespace) *set) ([][]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	out := make([][]string, len(nss))
	for i, ns := range nss {
		n := s.nss[ns.Key()]
		if n == nil {
			continue
		}
		idx := index(n)
		if idx == nil {
			continue
		}
		idx.AscendGreaterOrEqual(from, func(v string) bool {
			if len(out[i]) == limit {
				return false
			}
			out[i] = append(out[i], v)
			return true
		})
	}
	return out, nil
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
	s.nss, s.order, s.places = nil, newSet(), nil
	return nil
}
