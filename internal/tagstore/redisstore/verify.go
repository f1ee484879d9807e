package redisstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/arn"
)

// Verify checks that every index of every group is exactly what its
// resources imply, that every group holding a resource is registered, and
// that no key of a group is left over; it returns one line per problem
// found (none when the store is exact). It reads every key, so it is for
// tests, fault drills and an operator's check of a quiet store, not for a
// store under load (a change between two reads shows as a problem).
func (s *Store) Verify(ctx context.Context) ([]string, error) {
	var problems []string
	keys, err := s.allKeys(ctx)
	if err != nil {
		return nil, err
	}
	registered := map[string]bool{}
	all, err := s.client.ZRange(ctx, s.groupsKey(), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	for _, g := range all {
		registered[g] = true
	}
	byGroup := map[string][]string{}
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, s.prefix+"{")
		if !ok {
			continue
		}
		g, _, ok := strings.Cut(rest, "}:")
		if !ok || g == "registry" || g == "audit" {
			continue
		}
		byGroup[g] = append(byGroup[g], k)
	}
	for _, gk := range slices.Sorted(maps.Keys(byGroup)) {
		g, err := arn.ParseGroup(gk)
		if err != nil {
			problems = append(problems, fmt.Sprintf("key of no group: %q", byGroup[gk][0]))
			continue
		}
		ps, err := s.verifyGroup(ctx, g, byGroup[gk], registered[gk])
		if err != nil {
			return nil, err
		}
		problems = append(problems, ps...)
	}
	return problems, nil
}

// allKeys returns every key with the store's prefix, from every master.
func (s *Store) allKeys(ctx context.Context) ([]string, error) {
	var out []string
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, escapeGlob(s.prefix)+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return err
		}
		out = append(out, keys...)
		return nil
	}
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		var mu sync.Mutex
		var nodes []*redis.Client
		err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			nodes = append(nodes, n)
			return nil
		})
		if err != nil {
			return nil, err
		}
		// ForEachMaster runs concurrently: collect the nodes, then scan.
		for _, n := range nodes {
			if err := scan(ctx, n); err != nil {
				return nil, err
			}
		}
	case *redis.Client:
		if err := scan(ctx, c); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("redisstore: cannot list the keys of a %T", c)
	}
	sort.Strings(out)
	return out, nil
}

func escapeGlob(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// verifyGroup checks one group, whose keys are keys.
func (s *Store) verifyGroup(ctx context.Context, g arn.Group, keys []string, registered bool) ([]string, error) {
	p := s.groupPrefix(g)
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, g.Key()+": "+fmt.Sprintf(format, args...))
	}
	known, err := s.client.ZRange(ctx, p+"known", 0, -1).Result()
	if err != nil {
		return nil, err
	}
	if len(known) > 0 && !registered {
		bad("holds %d resources and is not registered", len(known))
	}
	// What the resources imply.
	want := map[string][]string{} // index key -> members
	add := func(k, m string) { want[k] = append(want[k], m) }
	expected := map[string]bool{p + "place": true, p + "feed": true}
	values := map[string]map[string]bool{} // key -> values carried
	for _, ident := range known {
		tags, err := s.client.HGetAll(ctx, p+"r:"+ident).Result()
		if err != nil {
			return nil, err
		}
		add(p+"known", ident)
		if len(tags) == 0 {
			add(p+"untagged", ident)
			continue
		}
		expected[p+"r:"+ident] = true
		for k, v := range tags {
			add(p+"k:"+k, ident)
			add(p+"v:"+strconv.Itoa(len(k))+":"+k+v, ident)
			if values[k] == nil {
				values[k] = map[string]bool{}
				add(p+"keys", k)
			}
			if !values[k][v] {
				values[k][v] = true
				add(p+"vals:"+k, v)
			}
		}
	}
	for k := range want {
		expected[k] = true
	}
	for _, k := range keys {
		if !expected[k] {
			bad("left-over key %q", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		got, err := s.client.ZRange(ctx, k, 0, -1).Result()
		if err != nil {
			return nil, err
		}
		w := slices.Clone(want[k])
		slices.Sort(w)
		if !slices.Equal(got, w) {
			bad("index %q holds %q, want %q", k, got, w)
		}
	}
	return problems, nil
}
