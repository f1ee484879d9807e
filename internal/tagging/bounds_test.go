package tagging_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

func TestCountResources(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(*testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		seed(t, s)
		for _, q := range []*tagwayv1.ListResourcesRequest{
			{},
			{TagFilters: []*tagwayv1.TagFilter{{Key: "odd", Values: []string{"no"}}}},
			{TagFilters: []*tagwayv1.TagFilter{{Key: "env"}, {Key: "key03"}}},
			{Scopes: []*tagwayv1.ResourceScope{{Partitions: []string{"aws"}, Services: []string{"ec2"}, ResourceTypes: []string{"volume"}}}},
			{Scopes: []*tagwayv1.ResourceScope{{Accounts: []string{"222222222222", "333333333333"}}}},
			{Scopes: []*tagwayv1.ResourceScope{{Partitions: []string{"gcp"}}}},
			{UntaggedOnly: true},
		} {
			want := len(pages(t, s, q))
			resp, err := s.CountResources(ctx, &tagwayv1.CountResourcesRequest{Scopes: q.Scopes, TagFilters: q.TagFilters, UntaggedOnly: q.UntaggedOnly})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetCount() != int64(want) || resp.GetNextPageToken() != "" {
				t.Fatalf("count of %v = %d (token %q), listing has %d", q, resp.GetCount(), resp.GetNextPageToken(), want)
			}
		}
		_, err := s.CountResources(ctx, &tagwayv1.CountResourcesRequest{UntaggedOnly: true, TagFilters: []*tagwayv1.TagFilter{{Key: "a"}}})
		wantInvalid(t, err, tagging.ReasonInvalidParameter, "untagged_only", -1)
		_, err = s.CountResources(ctx, &tagwayv1.CountResourcesRequest{Scopes: []*tagwayv1.ResourceScope{{ResourceTypes: []string{"instance"}}}})
		wantInvalid(t, err, tagging.ReasonInvalidParameter, "scopes", 0)
	})
}

// countingStore counts the work a store is asked for.
type countingStore struct {
	tagstore.Store
	registry, groups atomic.Int64 // registry entries returned; groups read
}

func (c *countingStore) Groups(ctx context.Context, r arn.KeyRange, limit int) ([]arn.Group, error) {
	gs, err := c.Store.Groups(ctx, r, limit)
	c.registry.Add(int64(len(gs)))
	return gs, err
}

func (c *countingStore) ScanResources(ctx context.Context, g arn.Group, q tagstore.ScanQuery) (tagstore.ScanResult, error) {
	c.groups.Add(1)
	return c.Store.ScanResources(ctx, g, q)
}

func (c *countingStore) ScanKeys(ctx context.Context, gs []arn.Group, q tagstore.StringsQuery) ([]tagstore.StringsResult, error) {
	c.groups.Add(int64(len(gs)))
	return c.Store.ScanKeys(ctx, gs, q)
}

func (c *countingStore) Count(ctx context.Context, g arn.Group, q tagstore.CountQuery) (int, error) {
	c.groups.Add(1)
	return c.Store.Count(ctx, g, q)
}

func (c *countingStore) reset() (registry, groups int64) {
	return c.registry.Swap(0), c.groups.Swap(0)
}

// TestWorkPerCallIsBounded fills a store with 6000 groups (accounts) and
// checks that no list or count call reads more than its budget of registry
// entries and groups, whatever the scope, while paging still returns
// everything.
func TestWorkPerCallIsBounded(t *testing.T) {
	st := &countingStore{Store: memstore.New()}
	s := newService(t, st)
	const accounts = 6000
	var all []string
	for i := 0; i < accounts; i += 100 {
		var batch []string
		for j := i; j < i+100; j++ {
			batch = append(batch, fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:instance/i-1", j))
		}
		mustTag(t, s, batch, "k", "v", fmt.Sprintf("key%d", i/100%7), "x")
		all = append(all, batch...)
	}
	st.reset()
	const maxRegistry, maxGroups = 4096, 256
	check := func(what string) {
		t.Helper()
		reg, grp := st.reset()
		if reg > maxRegistry || grp > maxGroups {
			t.Fatalf("%s read %d registry entries and %d groups", what, reg, grp)
		}
	}
	// Every page of a listing over every account.
	req := &tagwayv1.ListResourcesRequest{PageSize: 1000}
	var got []string
	for {
		resp, err := s.ListResources(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		check("a ListResources page")
		for _, r := range resp.GetResources() {
			got = append(got, r.GetResource())
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if len(got) != accounts {
		t.Fatalf("listed %d of %d", len(got), accounts)
	}
	// Keys: batches of groups; every key is listed, none missing.
	keys := map[string]bool{}
	kreq := &tagwayv1.ListTagKeysRequest{PageSize: 1000}
	for {
		resp, err := s.ListTagKeys(ctx, kreq)
		if err != nil {
			t.Fatal(err)
		}
		check("a ListTagKeys page")
		for _, k := range resp.GetTagKeys() {
			keys[k] = true
		}
		if kreq.PageToken = resp.GetNextPageToken(); kreq.PageToken == "" {
			break
		}
	}
	if len(keys) != 8 {
		t.Fatalf("keys = %v", slices.Collect(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		}))
	}
	// A count over everything, in calls of at most 256 groups.
	creq := &tagwayv1.CountResourcesRequest{TagFilters: []*tagwayv1.TagFilter{{Key: "k"}}}
	var total int64
	for {
		resp, err := s.CountResources(ctx, creq)
		if err != nil {
			t.Fatal(err)
		}
		check("a CountResources call")
		total += resp.GetCount()
		if creq.PageToken = resp.GetNextPageToken(); creq.PageToken == "" {
			break
		}
	}
	if total != accounts {
		t.Fatalf("count = %d", total)
	}
	// A scope pinned to one account reads one group.
	if _, err := s.ListTagKeys(ctx, &tagwayv1.ListTagKeysRequest{Scopes: []*tagwayv1.ResourceScope{{Partitions: []string{"aws"}, Regions: []string{"us-east-1"}, Accounts: []string{"000000004242"}}}}); err != nil {
		t.Fatal(err)
	}
	if reg, grp := st.reset(); reg != 1 || grp != 1 {
		t.Fatalf("a pinned scope read %d registry entries and %d groups", reg, grp)
	}
}

// TestListTagKeysByIndex lists keys over more groups than a batch, through
// the store's list of keys: every page sorted, no key twice, none missed,
// and none that only resources outside the scope carry.
func TestListTagKeysByIndex(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(*testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		want := map[string]bool{}
		for g := range 300 {
			inst := fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:instance/i-1", g)
			vol := fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:volume/v-1", g)
			k := fmt.Sprintf("k%03d", g%150) // each key in two groups
			mustTag(t, s, []string{inst}, k, "x", "shared", "y")
			mustTag(t, s, []string{vol}, fmt.Sprintf("only-volumes-%03d", g), "z")
			want[k], want["shared"] = true, true
		}
		scope := []*tagwayv1.ResourceScope{{Services: []string{"ec2"}, ResourceTypes: []string{"instance"}}}
		req := &tagwayv1.ListTagKeysRequest{Scopes: scope, PageSize: 7}
		var got []string
		for pages := 0; ; pages++ {
			if pages > 1000 {
				t.Fatal("paging does not end")
			}
			resp, err := s.ListTagKeys(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, resp.GetTagKeys()...)
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("keys not sorted and distinct: %v", got)
		}
		if len(got) != len(want) {
			t.Fatalf("%d keys, want %d: %v", len(got), len(want), got)
		}
		for _, k := range got {
			if !want[k] {
				t.Fatalf("listed %q, which no instance carries", k)
			}
		}
	})
}
