// Package storetest is the conformance suite every tagstore.Store backend
// must pass. A backend's test calls Run with a function returning an empty
// store; each subtest gets its own.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// Run runs the suite. newStore returns an empty store; Run closes it.
func Run(t *testing.T, newStore func(t *testing.T) tagstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s tagstore.Store)
	}{
		{"TagThenGet", testTagThenGet},
		{"TagOverwritesValue", testTagOverwritesValue},
		{"UntagAbsentIsNoOp", testUntagAbsentIsNoOp},
		{"UntagLastTagKeepsResourceKnown", testUntagLastTagKeepsResourceKnown},
		{"ConditionalRemove", testConditionalRemove},
		{"LimitRefusesWholeChange", testLimitRefusesWholeChange},
		{"LimitExemptPrefixes", testLimitExemptPrefixes},
		{"LimitAllowsOverwriteWhenOver", testLimitAllowsOverwriteWhenOver},
		{"LimitTotal", testLimitTotal},
		{"ApplyReportsPerChange", testApplyReportsPerChange},
		{"GetKeepsOrderAndSkipsUnknown", testGetKeepsOrderAndSkipsUnknown},
		{"Groups", testGroups},
		{"ScanFilters", testScanFilters},
		{"ScanPages", testScanPages},
		{"ScanUntaggedOnly", testScanUntaggedOnly},
		{"ScanExaminesOnlyCandidates", testScanExaminesOnlyCandidates},
		{"ScanKeysAndValues", testScanKeysAndValues},
		{"IndexesFollowChanges", testIndexesFollowChanges},
		{"AwkwardStrings", testAwkwardStrings},
		{"ConcurrentChangesAreAtomic", testConcurrentChangesAreAtomic},
		{"ConcurrentLimit", testConcurrentLimit},
		{"IndexesExactAfterStorm", testIndexesExactAfterStorm},
		{"Owners", testOwners},
		{"OwnersScanApart", testOwnersScanApart},
		{"ConcurrentClaims", testConcurrentClaims},
		{"Homes", testHomes},
		{"Count", testCount},
		{"LateChangesNeverApply", testLateChangesNeverApply},
		{"ForgetEmpty", testForgetEmpty},
		{"ForgetEmptyUnderWriters", testForgetEmptyUnderWriters},
		{"KeyIndex", testKeyIndex},
		{"KeyIndexUnderWriters", testKeyIndexUnderWriters},
		{"Secret", testSecret},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			closed := false
			t.Cleanup(func() {
				if !closed {
					_ = s.Close()
				}
			})
			if tc.name == "Close" {
				closed = true
			}
			tc.fn(t, s)
		})
	}
}

// Names used throughout; they fall in three namespaces.
const (
	i1 = "arn:aws:ec2:us-east-1:111111111111:instance/i-1"
	i2 = "arn:aws:ec2:us-east-1:111111111111:instance/i-2"
	i3 = "arn:aws:ec2:us-east-1:111111111111:instance/i-3"
	v1 = "arn:aws:ec2:us-east-1:111111111111:volume/vol-1"
	b1 = "arn:aws:s3:::bucket-1"
)

func name(t testing.TB, s string) arn.Name {
	t.Helper()
	n, err := arn.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// grp returns the group of a name that is not placed, or is placed
// nowhere.
func grp(t testing.TB, s string) arn.Group { return name(t, s).Group("", "") }

func set(t testing.TB, resource string, kv ...string) tagstore.Change {
	t.Helper()
	c := tagstore.Change{Resource: name(t, resource), Set: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set[kv[i]] = kv[i+1]
	}
	return c
}

func remove(t testing.TB, resource string, keys ...string) tagstore.Change {
	t.Helper()
	return tagstore.Change{Resource: name(t, resource), Remove: keys}
}

// apply applies changes and fails the test on any error.
func apply(t testing.TB, s tagstore.Store, changes ...tagstore.Change) {
	t.Helper()
	for i, err := range s.Apply(context.Background(), changes) {
		if err != nil {
			t.Fatalf("change %d (%s): %v", i, changes[i].Resource, err)
		}
	}
}

// tags returns the tags of one resource as a map, and whether it is known.
func tags(t testing.TB, s tagstore.Store, resource string) (map[string]string, bool) {
	t.Helper()
	rs, err := s.Get(context.Background(), []arn.Name{name(t, resource)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 {
		return nil, false
	}
	if len(rs) != 1 || rs[0].Name != resource {
		t.Fatalf("Get(%s) = %v", resource, rs)
	}
	m := map[string]string{}
	for i, tg := range rs[0].Tags {
		if i > 0 && rs[0].Tags[i-1].Key >= tg.Key {
			t.Fatalf("Get(%s): tags not in ascending key order: %v", resource, rs[0].Tags)
		}
		m[tg.Key] = tg.Value
	}
	return m, true
}

func wantTags(t testing.TB, s tagstore.Store, resource string, kv ...string) {
	t.Helper()
	got, known := tags(t, s, resource)
	if !known {
		t.Fatalf("%s is unknown, want tags %v", resource, kv)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		want[kv[i]] = kv[i+1]
	}
	if !maps.Equal(got, want) {
		t.Fatalf("tags of %s = %v, want %v", resource, got, want)
	}
}

// scanAll pages through one group with the given page size and budget.
func scanAll(t testing.TB, s tagstore.Store, n arn.Group, q tagstore.ScanQuery) []tagstore.Resource {
	t.Helper()
	var out []tagstore.Resource
	for range 10000 {
		r, err := s.ScanResources(context.Background(), n, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Resources) > q.Limit {
			t.Fatalf("scan returned %d resources, limit %d", len(r.Resources), q.Limit)
		}
		if q.Budget > 0 && r.Examined > q.Budget || r.Examined < len(r.Resources) {
			t.Fatalf("scan examined %d candidates for %d resources, budget %d", r.Examined, len(r.Resources), q.Budget)
		}
		out = append(out, r.Resources...)
		if !r.More {
			return out
		}
		if r.Next <= q.From {
			t.Fatalf("scan did not advance: Next %q, From %q", r.Next, q.From)
		}
		q.From = r.Next
	}
	t.Fatal("scan did not finish")
	return nil
}

func resourceNames(rs []tagstore.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func equal[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

func testTagThenGet(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, "env", "prod", "team", "a", "empty", ""))
	wantTags(t, s, i1, "env", "prod", "team", "a", "empty", "")
	if _, known := tags(t, s, i2); known {
		t.Fatal("an untouched resource is known")
	}
}

func testTagOverwritesValue(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, "env", "prod", "team", "a"))
	apply(t, s, set(t, i1, "env", "dev"))
	wantTags(t, s, i1, "env", "dev", "team", "a")
	vals := scanValues(t, s, []arn.Group{grp(t, i1)}, "env")
	equal(t, "values of env", vals, []string{"dev"})
}

func testUntagAbsentIsNoOp(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, "env", "prod"))
	apply(t, s, remove(t, i1, "nope", "also-nope"))
	wantTags(t, s, i1, "env", "prod")
	apply(t, s, remove(t, i2, "env"))
	if _, known := tags(t, s, i2); known {
		t.Fatal("removing tags from an unknown resource made it known")
	}
	apply(t, s, remove(t, b1, "env"))
	got, err := s.Groups(context.Background(), arn.AllGroups, 100)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "groups", got, []arn.Group{grp(t, i1)})
}

func testUntagLastTagKeepsResourceKnown(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, "env", "prod", "team", "a"))
	apply(t, s, remove(t, i1, "env", "team"))
	wantTags(t, s, i1)
	all := scanAll(t, s, grp(t, i1), tagstore.ScanQuery{Limit: 10})
	equal(t, "resources", resourceNames(all), []string{i1})
	if len(all[0].Tags) != 0 {
		t.Fatalf("untagged resource listed with tags %v", all[0].Tags)
	}
	equal(t, "keys", scanKeys(t, s, []arn.Group{grp(t, i1)}), []string(nil))
}

func testConditionalRemove(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, "a", "1", "b", "2", "c", "3", "d", ""))
	c := remove(t, i1, "a", "b", "c", "d", "absent")
	c.Expect = map[string]string{"a": "1", "b": "wrong", "d": "", "absent": "x"}
	apply(t, s, c)
	wantTags(t, s, i1, "b", "2") // a matched, b did not, c had no expectation, d matched ""
	equal(t, "keys", scanKeys(t, s, []arn.Group{grp(t, i1)}), []string{"b"})
	// A mismatch leaves an unknown resource unknown and a known one intact.
	c = remove(t, i2, "a")
	c.Expect = map[string]string{"a": "1"}
	apply(t, s, c)
	if _, known := tags(t, s, i2); known {
		t.Fatal("a conditional removal made a resource known")
	}
	// The cap counts a key removed only when its expectation holds.
	apply(t, s, set(t, i3, "x", "1", "y", "2"))
	c = set(t, i3, "z", "3")
	c.Remove, c.Expect, c.MaxTags = []string{"x"}, map[string]string{"x": "no"}, 2
	if err := s.Apply(context.Background(), []tagstore.Change{c})[0]; !errors.Is(err, tagstore.ErrTagLimitExceeded) {
		t.Fatalf("a removal that does not happen made room: %v", err)
	}
	c.Expect = map[string]string{"x": "1"}
	apply(t, s, c)
	wantTags(t, s, i3, "y", "2", "z", "3")
}

func manyTags(prefix string, n int) []string {
	var kv []string
	for i := range n {
		kv = append(kv, fmt.Sprintf("%s%02d", prefix, i), "v")
	}
	return kv
}

func testLimitRefusesWholeChange(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, manyTags("k", 48)...))
	c := set(t, i1, "k00", "changed", "new1", "x", "new2", "x", "new3", "x")
	c.MaxTags = 50
	err := s.Apply(context.Background(), []tagstore.Change{c})[0]
	var le *tagstore.LimitError
	if !errors.As(err, &le) || !errors.Is(err, tagstore.ErrTagLimitExceeded) {
		t.Fatalf("Apply = %v, want a LimitError", err)
	}
	equal(t, "LimitError", *le, tagstore.LimitError{Count: 51, Max: 50})
	wantTags(t, s, i1, manyTags("k", 48)...)

	// Removing in the same change makes room.
	c.Remove = []string{"k01"}
	apply(t, s, c)
	got, _ := tags(t, s, i1)
	if len(got) != 50 || got["k00"] != "changed" || got["new3"] != "x" {
		t.Fatalf("after a change within the limit: %d tags, %v", len(got), got)
	}
	// Exactly at the limit a new resource is fine, one more is not.
	c = set(t, i2, manyTags("k", 50)...)
	c.MaxTags = 50
	apply(t, s, c)
	c = set(t, i3, manyTags("k", 51)...)
	c.MaxTags = 50
	if err := s.Apply(context.Background(), []tagstore.Change{c})[0]; !errors.Is(err, tagstore.ErrTagLimitExceeded) {
		t.Fatalf("51 tags on a new resource: %v", err)
	}
	if _, known := tags(t, s, i3); known {
		t.Fatal("a refused change made the resource known")
	}
}

func testLimitExemptPrefixes(t *testing.T, s tagstore.Store) {
	c := set(t, i1, append(manyTags("k", 2), "aws:a", "1", "AWS:b", "2", "Aws:c", "3")...)
	c.MaxTags, c.ExemptPrefixes = 2, []string{"aws:"}
	apply(t, s, c)
	c = set(t, i1, "k02", "v")
	c.MaxTags, c.ExemptPrefixes = 2, []string{"aws:"}
	if err := s.Apply(context.Background(), []tagstore.Change{c})[0]; !errors.Is(err, tagstore.ErrTagLimitExceeded) {
		t.Fatalf("third counted tag: %v", err)
	}
}

// testLimitTotal checks MaxTotal, which exempt keys do not escape.
func testLimitTotal(t *testing.T, s tagstore.Store) {
	c := set(t, i1, append(manyTags("k", 3), "sys:a", "1", "sys:b", "2")...)
	c.MaxTags, c.ExemptPrefixes, c.MaxTotal = 3, []string{"sys:"}, 5
	apply(t, s, c)
	c = set(t, i1, "sys:c", "3")
	c.MaxTags, c.ExemptPrefixes, c.MaxTotal = 3, []string{"sys:"}, 5
	err := s.Apply(context.Background(), []tagstore.Change{c})[0]
	var le *tagstore.LimitError
	if !errors.As(err, &le) || *le != (tagstore.LimitError{Count: 6, Max: 5}) {
		t.Fatalf("a sixth key under MaxTotal 5: %v", err)
	}
	c.Remove = []string{"sys:a"} // replacing one is fine
	apply(t, s, c)
	got, _ := tags(t, s, i1)
	if len(got) != 5 || got["sys:c"] != "3" {
		t.Fatalf("tags %v", got)
	}
}

func testLimitAllowsOverwriteWhenOver(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, manyTags("k", 30)...))
	c := set(t, i1, "k00", "new")
	c.MaxTags = 20
	apply(t, s, c) // 30 before, 30 after: no tag added
	c = set(t, i1, "k99", "new")
	c.MaxTags = 20
	if err := s.Apply(context.Background(), []tagstore.Change{c})[0]; !errors.Is(err, tagstore.ErrTagLimitExceeded) {
		t.Fatalf("adding to an over-limit resource: %v", err)
	}
	got, _ := tags(t, s, i1)
	if len(got) != 30 || got["k00"] != "new" {
		t.Fatalf("tags %v", got)
	}
}

func testApplyReportsPerChange(t *testing.T, s tagstore.Store) {
	over := set(t, i2, manyTags("k", 3)...)
	over.MaxTags = 2
	errs := s.Apply(context.Background(), []tagstore.Change{
		set(t, i1, "env", "prod"), over, set(t, b1, "env", "prod"), remove(t, v1, "env"),
	})
	if len(errs) != 4 || errs[0] != nil || !errors.Is(errs[1], tagstore.ErrTagLimitExceeded) || errs[2] != nil || errs[3] != nil {
		t.Fatalf("errors = %v", errs)
	}
	wantTags(t, s, i1, "env", "prod")
	wantTags(t, s, b1, "env", "prod")
	if _, known := tags(t, s, i2); known {
		t.Fatal("refused resource is known")
	}
}

func testGetKeepsOrderAndSkipsUnknown(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, "a", "1"), set(t, b1, "b", "2"), set(t, v1, "c", "3"))
	rs, err := s.Get(context.Background(), []arn.Name{name(t, v1), name(t, i2), name(t, b1), name(t, i1)})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "names", resourceNames(rs), []string{v1, b1, i1})
	equal(t, "tags", rs[1].Tags, []tagstore.Tag{{Key: "b", Value: "2"}})
}

func testGroups(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	ou := "arn:huaweicloud:organizations:::ou/ou-1"
	west := "arn:aws:ec2:us-west-2:111111111111:instance/i-w"
	apply(t, s, set(t, v1, "a", "1"), set(t, i1, "a", "1"), set(t, b1, "a", "1"), set(t, ou, "a", "1"), set(t, west, "a", "1"))
	got, err := s.Groups(ctx, arn.AllGroups, 100)
	if err != nil {
		t.Fatal(err)
	}
	// Instances and volumes of one account and region share a group.
	equal(t, "groups", got, []arn.Group{grp(t, b1), grp(t, i1), grp(t, west), grp(t, ou)})
	equal(t, "first", got[1], arn.Group{Partition: "aws", Region: "us-east-1", Account: "111111111111"})
	got, _ = s.Groups(ctx, arn.PrefixRange("aws:us-"), 100)
	equal(t, "aws groups with a us- region", got, []arn.Group{grp(t, i1), grp(t, west)})
	got, _ = s.Groups(ctx, arn.PrefixRange("gcp:"), 100)
	equal(t, "no groups", len(got), 0)
	// Paging: Low is inclusive, High exclusive, limit bounds the answer.
	got, _ = s.Groups(ctx, arn.KeyRange{Low: grp(t, i1).Key(), High: "\xff"}, 2)
	equal(t, "from us-east-1, two", got, []arn.Group{grp(t, i1), grp(t, west)})
	got, _ = s.Groups(ctx, arn.KeyRange{Low: "aws::", High: grp(t, i1).Key()}, 10)
	equal(t, "up to us-east-1", got, []arn.Group{grp(t, b1)})
	got, _ = s.Groups(ctx, arn.KeyRange{Low: grp(t, i1).Key(), High: grp(t, i1).Key() + "\x00"}, 10)
	equal(t, "exactly us-east-1", got, []arn.Group{grp(t, i1)})
	got, _ = s.Groups(ctx, arn.KeyRange{Low: "b", High: "a"}, 10)
	equal(t, "an empty range", len(got), 0)
	// A group's resources list in Ident order: by service, then type.
	rs := scanAll(t, s, grp(t, i1), tagstore.ScanQuery{Limit: 10})
	equal(t, "resources of the group", resourceNames(rs), []string{i1, v1})
	n, err := s.ForgetEmpty(ctx, 10)
	if err != nil || n != 0 {
		t.Fatalf("ForgetEmpty forgot %d groups holding resources: %v", n, err)
	}
}

func testScanFilters(t *testing.T, s tagstore.Store) {
	apply(t, s,
		set(t, i1, "env", "prod", "team", "a"),
		set(t, i2, "env", "dev", "team", "b"),
		set(t, i3, "env", "", "owner", "x"),
	)
	n := grp(t, i1)
	cases := []struct {
		name    string
		filters []tagstore.Filter
		want    []string
	}{
		{"none", nil, []string{i1, i2, i3}},
		{"key only matches any value, even empty", []tagstore.Filter{{Key: "env"}}, []string{i1, i2, i3}},
		{"one value", []tagstore.Filter{{Key: "env", Values: []string{"prod"}}}, []string{i1}},
		{"empty value", []tagstore.Filter{{Key: "env", Values: []string{""}}}, []string{i3}},
		{"values are ORed", []tagstore.Filter{{Key: "env", Values: []string{"prod", "dev", "qa"}}}, []string{i1, i2}},
		{"filters are ANDed", []tagstore.Filter{{Key: "env"}, {Key: "team", Values: []string{"b"}}}, []string{i2}},
		{"missing key", []tagstore.Filter{{Key: "nope"}}, nil},
		{"missing value", []tagstore.Filter{{Key: "env", Values: []string{"qa"}}}, nil},
		{"AND with no overlap", []tagstore.Filter{{Key: "owner"}, {Key: "team"}}, nil},
		{"case-sensitive", []tagstore.Filter{{Key: "ENV"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := scanAll(t, s, n, tagstore.ScanQuery{Filters: tc.filters, Limit: 100})
			equal(t, "matches", resourceNames(got), tc.want)
		})
	}
	got := scanAll(t, s, n, tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "team", Values: []string{"a"}}}, Limit: 10})
	equal(t, "listed tags", got[0].Tags, []tagstore.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "a"}})
}

func testScanPages(t *testing.T, s tagstore.Store) {
	var want []string
	var changes []tagstore.Change
	for i := range 57 {
		r := fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%03d", i)
		kv := []string{"all", "yes"}
		if i%3 == 0 {
			kv = append(kv, "third", "yes")
			want = append(want, r)
		}
		changes = append(changes, set(t, r, kv...))
	}
	apply(t, s, changes...)
	n := grp(t, i1)
	for _, limit := range []int{1, 2, 7, 19, 100} {
		for _, budget := range []int{0, 1, 3, 50} {
			q := tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "all"}, {Key: "third", Values: []string{"yes", "no"}}}, Limit: limit, Budget: budget}
			got := scanAll(t, s, n, q)
			equal(t, fmt.Sprintf("limit %d budget %d", limit, budget), resourceNames(got), want)
		}
	}
	// A page that exactly exhausts the matches says there is no more.
	r, err := s.ScanResources(context.Background(), n, tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "third"}}, Limit: len(want)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Resources) != len(want) || r.More {
		t.Fatalf("exact page: %d resources, More %v", len(r.Resources), r.More)
	}
	// A full page with more to come says so, and continues after its last.
	r, _ = s.ScanResources(context.Background(), n, tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "third"}}, Limit: 5})
	if len(r.Resources) != 5 || !r.More || r.Next <= name(t, want[4]).Ident() || r.Next > name(t, want[5]).Ident() {
		t.Fatalf("page of 5: %d resources, More %v, Next %q", len(r.Resources), r.More, r.Next)
	}
	// Zero limit returns nothing.
	r, _ = s.ScanResources(context.Background(), n, tagstore.ScanQuery{Limit: 0})
	if len(r.Resources) != 0 {
		t.Fatal("limit 0 returned resources")
	}
	// An unknown group is empty.
	r, _ = s.ScanResources(context.Background(), grp(t, b1), tagstore.ScanQuery{Limit: 10})
	if len(r.Resources) != 0 || r.More {
		t.Fatalf("unknown group: %+v", r)
	}
}

func testScanUntaggedOnly(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, "a", "1"), set(t, i2, "a", "1"), set(t, i3, "a", "1"))
	apply(t, s, remove(t, i2, "a"), remove(t, i3, "a"))
	n := grp(t, i1)
	equal(t, "untagged", resourceNames(scanAll(t, s, n, tagstore.ScanQuery{UntaggedOnly: true, Limit: 1})), []string{i2, i3})
	apply(t, s, set(t, i3, "b", "2"))
	equal(t, "untagged after retag", resourceNames(scanAll(t, s, n, tagstore.ScanQuery{UntaggedOnly: true, Limit: 10})), []string{i2})
	equal(t, "all", resourceNames(scanAll(t, s, n, tagstore.ScanQuery{Limit: 2})), []string{i1, i2, i3})
}

// testScanExaminesOnlyCandidates pins the cost of a scan: it examines only
// resources from the smallest index that holds every match, however many
// other resources share the namespace, so that with a budget one above the
// number of matches it finishes in one call.
func testScanExaminesOnlyCandidates(t *testing.T, s tagstore.Store) {
	var changes []tagstore.Change
	for i := range 400 {
		r := fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%04d", i)
		kv := []string{"env", "dev", "common", "x"}
		switch i % 100 {
		case 7:
			kv = []string{"env", "prod", "common", "x", "rare", "y"}
		case 8:
			kv = []string{"env", "prod", "common", "x"}
		}
		changes = append(changes, set(t, r, kv...))
	}
	apply(t, s, changes...)
	n := grp(t, i1)
	cases := []struct {
		name    string
		filters []tagstore.Filter
		matches int
	}{
		{"one value", []tagstore.Filter{{Key: "env", Values: []string{"prod"}}}, 8},
		{"rare key", []tagstore.Filter{{Key: "rare"}}, 4},
		{"smallest of several", []tagstore.Filter{{Key: "common"}, {Key: "env", Values: []string{"dev", "prod"}}, {Key: "rare", Values: []string{"y"}}}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.ScanResources(context.Background(), n, tagstore.ScanQuery{Filters: tc.filters, Limit: 1000, Budget: tc.matches + 1})
			if err != nil {
				t.Fatal(err)
			}
			if r.More || len(r.Resources) != tc.matches || r.Examined != tc.matches {
				t.Fatalf("budget %d: %d resources, More %v, %d examined; want %d, false, %d", tc.matches+1, len(r.Resources), r.More, r.Examined, tc.matches, tc.matches)
			}
		})
	}
}

// scanKeys lists the keys of resources of kinds (none: all) in gs.
func scanKeys(t testing.TB, s tagstore.Store, gs []arn.Group, kinds ...arn.Kind) []string {
	t.Helper()
	return pageAll(t, func(from string) ([]tagstore.StringsResult, error) {
		return s.ScanKeys(context.Background(), gs, tagstore.StringsQuery{Kinds: kinds, From: from, Limit: 2})
	})
}

// scanValues lists the values of key on resources of kinds in gs.
func scanValues(t testing.TB, s tagstore.Store, gs []arn.Group, key string, kinds ...arn.Kind) []string {
	t.Helper()
	return pageAll(t, func(from string) ([]tagstore.StringsResult, error) {
		return s.ScanValues(context.Background(), gs, key, tagstore.StringsQuery{Kinds: kinds, From: from, Limit: 2})
	})
}

// pageAll merges per-group scans of two items at a time into one sorted,
// distinct list, the way a caller pages across groups.
func pageAll(t testing.TB, scan func(from string) ([]tagstore.StringsResult, error)) []string {
	t.Helper()
	var out []string
	from := ""
	for range 10000 {
		results, err := scan(from)
		if err != nil {
			t.Fatal(err)
		}
		var page []string
		for _, r := range results {
			l := r.Strings
			if len(l) > 2 || r.More {
				t.Fatalf("scan returned %d items (limit 2), More %v without a budget", len(l), r.More)
			}
			if !slices.IsSorted(l) {
				t.Fatalf("scan returned unsorted %q", l)
			}
			page = append(page, l...)
		}
		if len(page) == 0 {
			return out
		}
		sort.Strings(page)
		page = slices.Compact(page)
		if len(page) > 2 {
			page = page[:2]
		}
		out = append(out, page...)
		from = tagstore.Successor(page[len(page)-1])
	}
	t.Fatal("paging did not finish")
	return nil
}

func testScanKeysAndValues(t *testing.T, s tagstore.Store) {
	sqs := "arn:aws:sqs:us-east-1:111111111111:q"
	apply(t, s,
		set(t, i1, "env", "prod", "team", "a", "z", ""),
		set(t, i2, "env", "dev", "team", "a"),
		set(t, v1, "env", "prod", "cost", "1"),
		set(t, b1, "bucket", "yes", "env", "qa"),
		set(t, sqs, "queue", "1", "env", "stage"),
	)
	acct, bkt := grp(t, i1), grp(t, b1)
	inst := arn.Kind{Service: "ec2", Type: "instance"}
	vol := arn.Kind{Service: "ec2", Type: "volume"}
	ec2 := arn.Kind{Service: "ec2", AnyType: true}
	equal(t, "group keys", scanKeys(t, s, []arn.Group{acct}), []string{"cost", "env", "queue", "team", "z"})
	equal(t, "instance keys", scanKeys(t, s, []arn.Group{acct}, inst), []string{"env", "team", "z"})
	equal(t, "instance+volume keys", scanKeys(t, s, []arn.Group{acct}, inst, vol), []string{"cost", "env", "team", "z"})
	equal(t, "ec2 keys", scanKeys(t, s, []arn.Group{acct}, ec2), []string{"cost", "env", "team", "z"})
	equal(t, "queue keys", scanKeys(t, s, []arn.Group{acct}, arn.Kind{Service: "sqs", Type: ""}), []string{"env", "queue"})
	equal(t, "all keys", scanKeys(t, s, []arn.Group{bkt, acct}), []string{"bucket", "cost", "env", "queue", "team", "z"})
	equal(t, "env values", scanValues(t, s, []arn.Group{acct, bkt}, "env"), []string{"dev", "prod", "qa", "stage"})
	equal(t, "env values of volumes", scanValues(t, s, []arn.Group{acct}, "env", vol), []string{"prod"})
	equal(t, "z values", scanValues(t, s, []arn.Group{acct}, "z"), []string{""})
	equal(t, "unknown key values", scanValues(t, s, []arn.Group{acct}, "nope"), []string(nil))

	ctx := context.Background()
	lists, err := s.ScanKeys(ctx, []arn.Group{bkt, grp(t, "arn:aws:sqs:eu-west-1:1:queue"), acct}, tagstore.StringsQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "per-group keys", lists, []tagstore.StringsResult{{Strings: []string{"bucket", "env"}}, {}, {Strings: []string{"cost", "env", "queue", "team", "z"}}})
	lists, _ = s.ScanValues(ctx, []arn.Group{acct, bkt}, "env", tagstore.StringsQuery{From: tagstore.Successor("dev"), Limit: 1})
	equal(t, "per-group values after dev", lists, []tagstore.StringsResult{{Strings: []string{"prod"}}, {Strings: []string{"qa"}}})
	// With kinds and a budget, a scan stops early and says where it stopped.
	lists, _ = s.ScanKeys(ctx, []arn.Group{acct}, tagstore.StringsQuery{Kinds: []arn.Kind{vol}, Limit: 10, Budget: 2})
	if r := lists[0]; !r.More || r.Next == "" || len(r.Strings) > 2 {
		t.Fatalf("budgeted key scan = %+v", r)
	} else if rest := scanKeys(t, s, []arn.Group{acct}, vol); !slices.Equal(append(slices.Clone(r.Strings), filterFrom(rest, r.Next)...), rest) {
		t.Fatalf("budgeted scan %+v does not continue into %v", r, rest)
	}
}

// filterFrom returns the strings of ss not less than from.
func filterFrom(ss []string, from string) []string {
	var out []string
	for _, s := range ss {
		if s >= from {
			out = append(out, s)
		}
	}
	return out
}

func testIndexesFollowChanges(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, "env", "prod", "team", "a"), set(t, i2, "env", "prod"))
	n := []arn.Group{grp(t, i1)}
	apply(t, s, set(t, i1, "env", "dev"))
	equal(t, "values", scanValues(t, s, n, "env"), []string{"dev", "prod"})
	apply(t, s, set(t, i2, "env", "dev"))
	equal(t, "values after last prod went", scanValues(t, s, n, "env"), []string{"dev"})
	equal(t, "prod matches", scanAll(t, s, n[0], tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "env", Values: []string{"prod"}}}, Limit: 10}), []tagstore.Resource(nil))
	apply(t, s, remove(t, i1, "team"))
	equal(t, "keys after last team went", scanKeys(t, s, n), []string{"env"})
	equal(t, "team values", scanValues(t, s, n, "team"), []string(nil))
	apply(t, s, remove(t, i1, "env"), remove(t, i2, "env"))
	equal(t, "keys after all went", scanKeys(t, s, n), []string(nil))
	equal(t, "env matches", scanAll(t, s, n[0], tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "env"}}, Limit: 10}), []tagstore.Resource(nil))
}

// testAwkwardStrings uses keys, values and names with the separators a
// backend might use internally.
func testAwkwardStrings(t *testing.T, s tagstore.Store) {
	weird := "arn:aws:s3:::we{i}rd:bu/ck et{x}"
	kv := []string{
		"a:b", "c:d", "k{1}", "v}", "k}", "{v", "spa ce", "new\nline", "ключ", "значение", "a", "b:c",
		"a:b:c", "", "x" + strings.Repeat("é", 127), strings.Repeat("ü", 256),
	}
	apply(t, s, set(t, weird, kv...), set(t, i1, "a", "b"))
	wantTags(t, s, weird, kv...)
	n := grp(t, weird)
	for i := 0; i < len(kv); i += 2 {
		got := scanAll(t, s, n, tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: kv[i], Values: []string{kv[i+1]}}}, Limit: 10})
		equal(t, "match "+kv[i], resourceNames(got), []string{weird})
	}
	// "a" = "b:c" must not be confused with "a:b" = "c:d" (nor with i1's "a" = "b").
	got := scanAll(t, s, n, tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "a", Values: []string{"b"}}}, Limit: 10})
	equal(t, "a=b in the weird namespace", got, []tagstore.Resource(nil))
	apply(t, s, remove(t, weird, "a:b", "k{1}"))
	keys := scanKeys(t, s, []arn.Group{n})
	want := []string{"a", "a:b:c", "k}", "spa ce", "x" + strings.Repeat("é", 127), "ключ"}
	equal(t, "keys", keys, want)
}

// testConcurrentChangesAreAtomic has writers set or remove a whole group of
// keys on shared resources while readers check that they never see part of a
// group.
func testConcurrentChangesAreAtomic(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	resources := []string{i1, i2, i3}
	group := []string{"g1", "g2", "g3", "g4"}
	const writers, rounds = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				var changes []tagstore.Change
				for _, res := range resources {
					if (r+w)%2 == 0 {
						kv := []string{}
						for _, k := range group {
							kv = append(kv, k, fmt.Sprint(w))
						}
						changes = append(changes, set(t, res, kv...))
					} else {
						changes = append(changes, remove(t, res, group...))
					}
				}
				for _, err := range s.Apply(ctx, changes) {
					if err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var names []arn.Name
				for _, r := range resources {
					names = append(names, name(t, r))
				}
				rs, err := s.Get(ctx, names)
				if err != nil {
					errs <- err
					return
				}
				for _, r := range rs {
					if n := len(r.Tags); n != 0 && n != len(group) {
						errs <- fmt.Errorf("%s seen with %d of %d keys: %v", r.Name, n, len(group), r.Tags)
						return
					}
					for _, tg := range r.Tags {
						if tg.Value != r.Tags[0].Value {
							errs <- fmt.Errorf("%s seen with values from two writers: %v", r.Name, r.Tags)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantExactIndexes(t, s, grp(t, i1), resources)
}

// testConcurrentLimit races writers each adding one new key to the same
// resource: exactly as many succeed as the limit allows.
func testConcurrentLimit(t *testing.T, s tagstore.Store) {
	const limit, writers = 10, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for w := range writers {
		wg.Go(func() {
			c := set(t, i1, fmt.Sprintf("k%02d", w), "v")
			c.MaxTags = limit
			err := s.Apply(context.Background(), []tagstore.Change{c})[0]
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, tagstore.ErrTagLimitExceeded):
				refused++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, _ := tags(t, s, i1)
	if ok != limit || refused != writers-limit || len(got) != limit {
		t.Fatalf("%d applied, %d refused, %d tags; want %d, %d, %d", ok, refused, len(got), limit, writers-limit, limit)
	}
}

// testIndexesExactAfterStorm races tag and untag calls over shared keys and
// values, then checks that every index agrees with the resources' tags.
func testIndexesExactAfterStorm(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	var resources []string
	for i := range 12 {
		resources = append(resources, fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%02d", i))
	}
	keys := []string{"a", "b", "c"}
	values := []string{"x", "y"}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for r := range 80 {
				res := resources[(w*7+r*5)%len(resources)]
				k := keys[(w+r)%len(keys)]
				var c tagstore.Change
				if (w*r+r)%3 == 0 {
					c = remove(t, res, k)
				} else {
					c = set(t, res, k, values[(w+r/2)%len(values)])
				}
				if err := s.Apply(ctx, []tagstore.Change{c})[0]; err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	truthKeys := map[string]bool{}
	truthValues := map[string]map[string]bool{}
	truthMatch := map[string][]string{} // "k=v" -> resources
	for _, r := range resources {
		tg, _ := tags(t, s, r)
		for k, v := range tg {
			truthKeys[k] = true
			if truthValues[k] == nil {
				truthValues[k] = map[string]bool{}
			}
			truthValues[k][v] = true
			truthMatch[k+"="+v] = append(truthMatch[k+"="+v], r)
		}
	}
	n := []arn.Group{grp(t, resources[0])}
	equal(t, "keys", scanKeys(t, s, n), sortedKeys(truthKeys))
	for _, k := range keys {
		equal(t, "values of "+k, scanValues(t, s, n, k), sortedKeys(truthValues[k]))
		for _, v := range values {
			got := resourceNames(scanAll(t, s, n[0], tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: k, Values: []string{v}}}, Limit: 5}))
			equal(t, "matches of "+k+"="+v, got, truthMatch[k+"="+v])
		}
	}
	wantExactIndexes(t, s, n[0], resources)
}

// wantExactIndexes checks every index of a group against the tags of its
// resources, which must be all the group holds. A scan examines each member
// of the index it walks, so an index holding a stale member shows as
// Examined above the matches.
func wantExactIndexes(t *testing.T, s tagstore.Store, n arn.Group, resources []string) {
	t.Helper()
	var known, untagged []string
	withKey := map[string][]string{}
	withValue := map[[2]string][]string{}
	for _, r := range resources {
		tg, ok := tags(t, s, r)
		if !ok {
			continue
		}
		known = append(known, r)
		if len(tg) == 0 {
			untagged = append(untagged, r)
		}
		for k, v := range tg {
			withKey[k] = append(withKey[k], r)
			withValue[[2]string{k, v}] = append(withValue[[2]string{k, v}], r)
		}
	}
	check := func(what string, q tagstore.ScanQuery, want []string) {
		t.Helper()
		q.Limit = len(resources) + 1
		r, err := s.ScanResources(context.Background(), n, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := resourceNames(r.Resources); !slices.Equal(got, want) || r.Examined != len(want) || r.More {
			t.Fatalf("%s: %v, %d examined, More %v; want %v", what, got, r.Examined, r.More, want)
		}
	}
	check("known", tagstore.ScanQuery{}, known)
	check("untagged", tagstore.ScanQuery{UntaggedOnly: true}, untagged)
	for k, want := range withKey {
		check("key "+k, tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: k}}}, want)
	}
	for kv, want := range withValue {
		check("value "+kv[0]+"="+kv[1], tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: kv[0], Values: []string{kv[1]}}}}, want)
	}
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

// owned returns a change by owner, tagging or untagging resource.
func owned(c tagstore.Change, owner string) tagstore.Change {
	c.Owner = owner
	return c
}

const (
	ownerA = "111111111111"
	ownerB = "222222222222"
)

// owner returns the owner Get reports for resource.
func ownerOf(t *testing.T, s tagstore.Store, resource string) string {
	t.Helper()
	rs, err := s.Get(context.Background(), []arn.Name{name(t, resource)})
	if err != nil || len(rs) != 1 {
		t.Fatalf("Get(%s) = %v, %v", resource, rs, err)
	}
	return rs[0].Owner
}

func testOwners(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	b2, b3, b4 := "arn:aws:s3:::bucket-2", "arn:aws:s3:::bucket-3", "arn:aws:s3:::bucket-4"
	apply(t, s, owned(set(t, b1, "env", "prod", "team", "a"), ownerA))
	wantTags(t, s, b1, "env", "prod", "team", "a")
	equal(t, "owner of b1", ownerOf(t, s, b1), ownerA)

	// Another owner neither changes nor removes; nothing changes.
	errs := s.Apply(ctx, []tagstore.Change{
		owned(set(t, b1, "env", "dev"), ownerB),
		owned(remove(t, b1, "team"), ownerB),
		owned(remove(t, b1, "team"), ""),
	})
	for i, err := range errs {
		if !errors.Is(err, tagstore.ErrNotOwner) {
			t.Fatalf("change %d by another owner: %v, want ErrNotOwner", i, err)
		}
	}
	wantTags(t, s, b1, "env", "prod", "team", "a")

	// The owner, and a change for any owner, apply; the owner stays.
	apply(t, s, owned(remove(t, b1, "team"), ownerA))
	c := owned(set(t, b1, "by", "admin"), ownerB)
	c.AnyOwner = true
	apply(t, s, c)
	wantTags(t, s, b1, "by", "admin", "env", "prod")
	equal(t, "owner after a change for any owner", ownerOf(t, s, b1), ownerA)

	// Removing from an unknown resource claims nothing.
	apply(t, s, owned(remove(t, b2, "x"), ownerB))
	if _, known := tags(t, s, b2); known {
		t.Fatal("a removal made an unknown resource known")
	}
	apply(t, s, owned(set(t, b2, "k", "v"), ownerA))
	equal(t, "owner of b2", ownerOf(t, s, b2), ownerA)

	// "" is an owner too: the resource belongs to no account.
	apply(t, s, set(t, b3, "k", "v"))
	equal(t, "owner of b3", ownerOf(t, s, b3), "")
	if err := s.Apply(ctx, []tagstore.Change{owned(set(t, b3, "k", "w"), ownerA)})[0]; !errors.Is(err, tagstore.ErrNotOwner) {
		t.Fatalf("an owner changed a resource of none: %v", err)
	}

	// The first change that would create the resource claims it, even when
	// a limit then refuses it.
	over := owned(set(t, b4, "a", "1", "b", "2"), ownerA)
	over.MaxTags = 1
	if err := s.Apply(ctx, []tagstore.Change{over})[0]; !errors.Is(err, tagstore.ErrTagLimitExceeded) {
		t.Fatalf("over the limit: %v", err)
	}
	if err := s.Apply(ctx, []tagstore.Change{owned(set(t, b4, "a", "1"), ownerB)})[0]; !errors.Is(err, tagstore.ErrNotOwner) {
		t.Fatalf("a refused first change did not claim the resource: %v", err)
	}
	apply(t, s, owned(set(t, b4, "a", "1"), ownerA))

	// A name with an account ignores the owner.
	apply(t, s, owned(set(t, i1, "k", "v"), ownerB), owned(set(t, i1, "k", "w"), ownerA))
	wantTags(t, s, i1, "k", "w")
	equal(t, "owner of a name with an account", ownerOf(t, s, i1), "")
}

func testOwnersScanApart(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	b2, b3 := "arn:aws:s3:::bucket-2", "arn:aws:s3:::bucket-3"
	apply(t, s,
		owned(set(t, b1, "env", "prod", "a-only", "x"), ownerA),
		owned(set(t, b2, "env", "dev"), ownerB),
		set(t, b3, "env", "none"),
	)
	got, err := s.Groups(ctx, arn.PrefixRange("aws::"), 100)
	if err != nil {
		t.Fatal(err)
	}
	base := grp(t, b1)
	gA, gB := base, base
	gA.Account, gB.Account = ownerA, ownerB
	equal(t, "groups", got, []arn.Group{base, gA, gB})
	got, _ = s.Groups(ctx, arn.PrefixRange("aws::"+ownerB), 100)
	equal(t, "groups of owner B", got, []arn.Group{gB})

	for _, tc := range []struct {
		g           arn.Group
		resource    string
		keys, value []string
	}{
		{gA, b1, []string{"a-only", "env"}, []string{"prod"}},
		{gB, b2, []string{"env"}, []string{"dev"}},
		{base, b3, []string{"env"}, []string{"none"}},
	} {
		rs := scanAll(t, s, tc.g, tagstore.ScanQuery{Limit: 10})
		equal(t, "resources of "+tc.g.Key(), resourceNames(rs), []string{tc.resource})
		equal(t, "owner in scan of "+tc.g.Key(), rs[0].Owner, tc.g.Account)
		equal(t, "keys of "+tc.g.Key(), scanKeys(t, s, []arn.Group{tc.g}), tc.keys)
		equal(t, "values of "+tc.g.Key(), scanValues(t, s, []arn.Group{tc.g}, "env"), tc.value)
	}
	wantExactIndexes(t, s, gA, []string{b1})
}

// testConcurrentClaims races owners to create one resource: exactly one
// owns it, every other change is refused, and the indexes hold only the
// winner's tags.
func testConcurrentClaims(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	owners := []string{ownerA, ownerB, "333333333333", "444444444444"}
	errs := make([]error, len(owners))
	var wg sync.WaitGroup
	for i, o := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Apply(ctx, []tagstore.Change{owned(set(t, b1, "by", o), o)})[0]
		}()
	}
	wg.Wait()
	winner := ownerOf(t, s, b1)
	for i, o := range owners {
		if o == winner && errs[i] != nil || o != winner && !errors.Is(errs[i], tagstore.ErrNotOwner) {
			t.Fatalf("owner %s (winner %s): %v", o, winner, errs[i])
		}
	}
	wantTags(t, s, b1, "by", winner)
	n := grp(t, b1)
	n.Account = winner
	wantExactIndexes(t, s, n, []string{b1})
}

// homed returns c with a home region.
func homed(c tagstore.Change, home string) tagstore.Change {
	c.Home = home
	return c
}

func testHomes(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	b2, object := "arn:aws:s3:::bucket-2", "arn:aws:s3:::bucket-1/key"
	apply(t, s, homed(owned(set(t, b1, "k", "v"), ownerA), "us-west-2"))
	rs, err := s.Get(ctx, []arn.Name{name(t, b1)})
	if err != nil || len(rs) != 1 || rs[0].Home != "us-west-2" || rs[0].Owner != ownerA {
		t.Fatalf("Get = %+v, %v", rs, err)
	}
	// Another region is refused; no region wanted acts wherever it lives.
	if err := s.Apply(ctx, []tagstore.Change{homed(owned(set(t, b1, "k", "w"), ownerA), "eu-west-1")})[0]; !errors.Is(err, tagstore.ErrNotHome) {
		t.Fatalf("a change from another region: %v", err)
	}
	if err := s.Apply(ctx, []tagstore.Change{homed(owned(remove(t, b1, "k"), ownerA), "eu-west-1")})[0]; !errors.Is(err, tagstore.ErrNotHome) {
		t.Fatalf("a removal from another region: %v", err)
	}
	wantTags(t, s, b1, "k", "v")
	apply(t, s, owned(set(t, b1, "k2", "v"), ownerA), homed(owned(set(t, b1, "k3", "v"), ownerA), "us-west-2"))
	wantTags(t, s, b1, "k", "v", "k2", "v", "k3", "v")

	// A resource created without a home accepts a change from any region,
	// and keeps no home.
	apply(t, s, owned(set(t, b2, "k", "v"), ownerA), homed(owned(set(t, b2, "k", "w"), ownerA), "us-east-1"))
	wantTags(t, s, b2, "k", "w")
	// A name that is not Homed (an object) ignores the home.
	apply(t, s, homed(owned(set(t, object, "k", "v"), ownerA), "us-west-2"), homed(owned(set(t, object, "k", "w"), ownerA), "eu-west-1"))
	rs, err = s.Get(ctx, []arn.Name{name(t, b2), name(t, object)})
	if err != nil || len(rs) != 2 || rs[0].Home != "" || rs[1].Home != "" {
		t.Fatalf("Get = %+v, %v", rs, err)
	}

	inWest := arn.Group{Partition: "aws", Region: "us-west-2", Account: ownerA}
	got, err := s.Groups(ctx, arn.PrefixRange("aws:us-west-2:"), 10)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "groups living in us-west-2", got, []arn.Group{inWest})
	r := scanAll(t, s, inWest, tagstore.ScanQuery{Limit: 10})
	equal(t, "scan of the home group", resourceNames(r), []string{b1})
	equal(t, "home in the scan", r[0].Home, "us-west-2")
	equal(t, "owner in the scan", r[0].Owner, ownerA)
	wantExactIndexes(t, s, inWest, []string{b1})
}

func testSecret(t *testing.T, s tagstore.Store) {
	a, err := s.Secret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Secret(context.Background())
	if len(a) != 32 || !slices.Equal(a, b) {
		t.Fatalf("secrets %x and %x", a, b)
	}
	if slices.Equal(a, make([]byte, 32)) {
		t.Fatal("secret is all zeros")
	}
}

func testClose(t *testing.T, s tagstore.Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
	if err := s.Apply(context.Background(), []tagstore.Change{set(t, i1, "a", "b")})[0]; err == nil {
		t.Fatal("Apply after Close succeeded")
	}
}

func testCount(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	apply(t, s,
		set(t, i1, "env", "prod", "team", "a"),
		set(t, i2, "env", "dev", "team", "a"),
		set(t, i3, "env", "prod"),
		set(t, v1, "env", "prod", "team", "b"),
		set(t, b1, "env", "prod"),
		set(t, "arn:aws:ec2:us-east-1:111111111111:instance/i-4", "gone", "x"),
		remove(t, "arn:aws:ec2:us-east-1:111111111111:instance/i-4", "gone"),
	)
	g := grp(t, i1)
	instances := []arn.Kind{{Service: "ec2", Type: "instance"}}
	for _, tc := range []struct {
		what string
		q    tagstore.CountQuery
	}{
		{"everything", tagstore.CountQuery{}},
		{"instances", tagstore.CountQuery{Kinds: instances}},
		{"ec2", tagstore.CountQuery{Kinds: []arn.Kind{{Service: "ec2", AnyType: true}}}},
		{"no kinds", tagstore.CountQuery{Kinds: []arn.Kind{}}},
		{"env", tagstore.CountQuery{Filters: []tagstore.Filter{{Key: "env"}}}},
		{"env=prod", tagstore.CountQuery{Filters: []tagstore.Filter{{Key: "env", Values: []string{"prod"}}}}},
		{"env=prod|dev", tagstore.CountQuery{Filters: []tagstore.Filter{{Key: "env", Values: []string{"prod", "dev"}}}}},
		{"env=prod instances", tagstore.CountQuery{Kinds: instances, Filters: []tagstore.Filter{{Key: "env", Values: []string{"prod"}}}}},
		{"env=prod and team", tagstore.CountQuery{Filters: []tagstore.Filter{{Key: "env", Values: []string{"prod"}}, {Key: "team"}}}},
		{"env and team=a|b", tagstore.CountQuery{Filters: []tagstore.Filter{{Key: "env"}, {Key: "team", Values: []string{"a", "b"}}}}},
		{"absent key", tagstore.CountQuery{Filters: []tagstore.Filter{{Key: "nope"}}}},
		{"untagged", tagstore.CountQuery{UntaggedOnly: true}},
		{"untagged volumes", tagstore.CountQuery{UntaggedOnly: true, Kinds: []arn.Kind{{Service: "ec2", Type: "volume"}}}},
	} {
		got, err := s.Count(ctx, g, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.what, err)
		}
		// The count must agree with a scan.
		want := len(scanAll(t, s, g, tagstore.ScanQuery{Kinds: tc.q.Kinds, Filters: tc.q.Filters, UntaggedOnly: tc.q.UntaggedOnly, Limit: 2}))
		if tc.q.Kinds != nil && len(tc.q.Kinds) == 0 {
			want = 0
		}
		equal(t, "count of "+tc.what, got, want)
	}
	if n, err := s.Count(ctx, grp(t, i1), tagstore.CountQuery{Filters: []tagstore.Filter{{Key: "env", Values: []string{"prod"}}}}); err != nil || n != 3 {
		t.Fatalf("count env=prod = %d, %v; want 3", n, err)
	}
	if n, err := s.Count(ctx, arn.Group{Partition: "aws", Region: "eu-west-1", Account: "111111111111"}, tagstore.CountQuery{}); err != nil || n != 0 {
		t.Fatalf("count of an unknown group = %d, %v", n, err)
	}
}

// testLateChangesNeverApply checks that a change whose deadline has passed
// fails and changes nothing, whatever it does: a caller that gave up on a
// change must be able to rely on it never landing.
func testLateChangesNeverApply(t *testing.T, s tagstore.Store) {
	apply(t, s, set(t, i1, "keep", "1"))
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	changes := []tagstore.Change{set(t, i1, "late", "1"), remove(t, i1, "keep"), set(t, i2, "late", "1"), owned(set(t, b1, "late", "1"), ownerA)}
	for i, err := range s.Apply(ctx, changes) {
		if err == nil {
			t.Fatalf("late change %d was applied", i)
		}
	}
	wantTags(t, s, i1, "keep", "1")
	for _, r := range []string{i2, b1} {
		if _, known := tags(t, s, r); known {
			t.Fatalf("a late change made %s known", r)
		}
	}
	// Nor did the late change claim the bucket for its owner.
	apply(t, s, owned(set(t, b1, "k", "v"), ownerB))
	wantExactIndexes(t, s, grp(t, i1), []string{i1})
}

// forgetAll calls ForgetEmpty until no group in the store is empty, and
// fails the test if that takes more than 30 s.
func forgetAll(t *testing.T, s tagstore.Store) {
	t.Helper()
	ctx := context.Background()
	for start := time.Now(); ; {
		if _, err := s.ForgetEmpty(ctx, 1000); err != nil {
			t.Fatal(err)
		}
		groups, err := s.Groups(ctx, arn.AllGroups, 100000)
		if err != nil {
			t.Fatal(err)
		}
		empty := 0
		for _, g := range groups {
			if n, err := s.Count(ctx, g, tagstore.CountQuery{}); err != nil {
				t.Fatal(err)
			} else if n == 0 {
				empty++
			}
		}
		if empty == 0 {
			return
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%d empty groups are still listed after 30 s", empty)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testForgetEmpty checks that a group left empty by a refused change is
// forgotten, and one holding a resource, tagged or not, never is.
func testForgetEmpty(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	refused := set(t, "arn:aws:ec2:eu-west-1:555555555555:instance/i-1", manyTags("k", 3)...)
	refused.MaxTags = 2
	if err := s.Apply(ctx, []tagstore.Change{refused})[0]; !errors.Is(err, tagstore.ErrTagLimitExceeded) {
		t.Fatalf("over the limit: %v", err)
	}
	apply(t, s, set(t, i1, "a", "1"), set(t, "arn:aws:ec2:eu-west-2:111111111111:instance/i-1", "a", "1"))
	apply(t, s, remove(t, "arn:aws:ec2:eu-west-2:111111111111:instance/i-1", "a"))
	forgetAll(t, s)
	groups, err := s.Groups(ctx, arn.AllGroups, 100)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "groups", groups, []arn.Group{{Partition: "aws", Region: "eu-west-2", Account: "111111111111"}, grp(t, i1)})
	// A forgotten group comes back with its first resource.
	apply(t, s, set(t, "arn:aws:ec2:eu-west-1:555555555555:instance/i-1", "a", "1"))
	groups, _ = s.Groups(ctx, arn.PrefixRange("aws:eu-west-1:"), 100)
	equal(t, "groups in eu-west-1", len(groups), 1)
}

// forgetWithoutPause runs ForgetEmpty on s over and over until the
// returned stop is called, which returns its first error.
func forgetWithoutPause(ctx context.Context, s tagstore.Store) (stop func() error) {
	done := make(chan struct{})
	forgot := make(chan error, 1)
	go func() {
		for {
			select {
			case <-done:
				forgot <- nil
				return
			default:
			}
			if _, err := s.ForgetEmpty(ctx, 1000); err != nil {
				forgot <- err
				return
			}
		}
	}()
	return func() error {
		close(done)
		return <-forgot
	}
}

// testForgetEmptyUnderWriters runs writers that leave groups empty (a
// change into a new group refused) and, after a random pause of up to
// one and a half seconds, tag a resource into most of them, while ForgetEmpty runs
// without pause: every acknowledged change must be in a listed group at
// once and at the end, and every empty group must go.
func testForgetEmptyUnderWriters(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	const writers, rounds = 4, 5
	stopForgetting := forgetWithoutPause(ctx, s)
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for r := range rounds {
				res := fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:instance/i-1", 100000+w*rounds+r)
				g := name(t, res).Group("", "")
				c := set(t, res, manyTags("k", 3)...)
				c.MaxTags = 2
				if err := s.Apply(ctx, []tagstore.Change{c})[0]; !errors.Is(err, tagstore.ErrTagLimitExceeded) {
					errs <- fmt.Errorf("over the limit: %v", err)
					return
				}
				time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
				if r == 0 {
					continue // left empty
				}
				if err := s.Apply(ctx, []tagstore.Change{set(t, res, "w", fmt.Sprint(w))})[0]; err != nil {
					errs <- err
					return
				}
				mu.Lock()
				acked[res] = true
				mu.Unlock()
				groups, err := s.Groups(ctx, arn.KeyRange{Low: g.Key(), High: g.Key() + "\x00"}, 1)
				if err != nil {
					errs <- err
					return
				}
				if len(groups) != 1 || groups[0] != g {
					errs <- fmt.Errorf("%s was tagged, and its group %s is not listed", res, g.Key())
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := stopForgetting(); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	forgetAll(t, s)
	groups, err := s.Groups(ctx, arn.AllGroups, 100000)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[arn.Group]bool{}
	for _, g := range groups {
		listed[g] = true
	}
	for res := range acked {
		if !listed[name(t, res).Group("", "")] {
			t.Fatalf("%s was tagged, and its group was forgotten", res)
		}
		if _, known := tags(t, s, res); !known {
			t.Fatalf("%s was tagged, and is unknown", res)
		}
	}
	if len(acked) == 0 {
		t.Fatal("no change was acknowledged")
	}
}

// groupsWithKey returns the keys of the groups GroupsWithKey lists for key.
func groupsWithKey(t testing.TB, s tagstore.Store, key string) []string {
	t.Helper()
	gs, err := s.GroupsWithKey(context.Background(), key, arn.AllGroups, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range gs {
		out = append(out, g.Key())
	}
	return out
}

// waitKeyIndex calls ForgetEmpty until GroupsWithKey(key) and Keys are
// exactly want and keys, and fails the test if that takes more than 30 s.
// Until then they must hold them (a superset).
func waitKeyIndex(t *testing.T, s tagstore.Store, key string, want []string, keys []string) {
	t.Helper()
	for start := time.Now(); ; {
		got := groupsWithKey(t, s, key)
		allKeys, err := s.Keys(context.Background(), "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range want {
			if !slices.Contains(got, g) {
				t.Fatalf("GroupsWithKey(%q) = %q misses %s", key, got, g)
			}
		}
		for _, k := range keys {
			if !slices.Contains(allKeys, k) {
				t.Fatalf("Keys = %q misses %s", allKeys, k)
			}
		}
		if slices.Equal(got, want) && slices.Equal(allKeys, keys) {
			return
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("after 30 s, GroupsWithKey(%q) = %q, want %q; Keys = %q, want %q", key, got, want, allKeys, keys)
		}
		if _, err := s.ForgetEmpty(context.Background(), 1000); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testKeyIndex checks that the groups listed for a key hold every group
// carrying it, ranges included, and that a group that stops carrying it is
// eventually forgotten there.
func testKeyIndex(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	west := "arn:aws:ec2:us-west-2:111111111111:instance/i-w"
	other := "arn:aws:ec2:us-east-1:222222222222:instance/i-o"
	apply(t, s, set(t, i1, "env", "prod", "team", "a"), set(t, west, "env", "dev"), set(t, other, "team", "b"), set(t, b1, "x", "1"))
	want := []string{grp(t, i1).Key(), grp(t, other).Key()}
	equal(t, "groups with team", groupsWithKey(t, s, "team"), want)
	gs, err := s.GroupsWithKey(ctx, "env", arn.PrefixRange("aws:us-west-2:"), 10)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "groups with env in us-west-2", gs, []arn.Group{grp(t, west)})
	keys, err := s.Keys(ctx, "f", 10)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "keys from f", keys, []string{"team", "x"})
	// The last team leaves a group; the bucket loses its only key.
	apply(t, s, remove(t, i1, "team"), remove(t, b1, "x"))
	waitKeyIndex(t, s, "team", []string{grp(t, other).Key()}, []string{"env", "team"})
	waitKeyIndex(t, s, "x", nil, []string{"env", "team"})
}

// testKeyIndexUnderWriters has writers tag a key in groups, remove it and
// tag it again (within and past the time a writer trusts its earlier
// registration) while ForgetEmpty runs without pause: every group holding
// the key after an acknowledged change must be listed for it at once.
func testKeyIndexUnderWriters(t *testing.T, s tagstore.Store) {
	ctx := context.Background()
	const writers, rounds = 4, 8
	stopForgetting := forgetWithoutPause(ctx, s)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			res := fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:instance/i-1", 200000+w)
			g := name(t, res).Group("", "").Key()
			for range rounds {
				if err := s.Apply(ctx, []tagstore.Change{set(t, res, "k", "v")})[0]; err != nil {
					errs <- err
					return
				}
				if !slices.Contains(groupsWithKey(t, s, "k"), g) {
					errs <- fmt.Errorf("%s holds k, and is not listed for it", g)
					return
				}
				if err := s.Apply(ctx, []tagstore.Change{remove(t, res, "k")})[0]; err != nil {
					errs <- err
					return
				}
				time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if err := stopForgetting(); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitKeyIndex(t, s, "k", nil, nil)
}
