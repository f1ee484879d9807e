package arn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func inRanges(rs []KeyRange, key string) bool {
	for _, r := range rs {
		if r.Low <= key && key < r.High {
			return true
		}
	}
	return false
}

// TestGroupRangesHoldEverySelectedGroup checks, over random scopes and
// groups, that a selected group's key is always in the scopes' ranges, and
// that fully pinned scopes give exact keys only.
func TestGroupRangesHoldEverySelectedGroup(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(vals []string) []string {
		var out []string
		for _, v := range vals {
			if rng.IntN(3) == 0 {
				out = append(out, v)
			}
		}
		return out
	}
	partitions := []string{"aws", "aws-cn", "huaweicloud"}
	regions := []string{"", "us-east-1", "us-east-1x", "eu-west-1"}
	accounts := []string{"", "1", "11", "111111111111", "222222222222"}
	var groups []Group
	for _, p := range partitions {
		for _, r := range regions {
			for _, a := range accounts {
				groups = append(groups, Group{p, r, a})
			}
		}
	}
	for range 2000 {
		var scopes []Scope
		for range rng.IntN(3) {
			scopes = append(scopes, Scope{Partitions: pick(partitions), Regions: pick(regions), Accounts: pick(accounts)})
		}
		rs := GroupRanges(scopes)
		other := GroupRanges([]Scope{{Partitions: pick(partitions), Accounts: pick(accounts)}})
		both := IntersectRanges(rs, other)
		for _, g := range groups {
			selected := len(scopes) == 0 || slices.ContainsFunc(scopes, func(s Scope) bool { return s.MatchesGroup(g) })
			if selected && !inRanges(rs, g.Key()) {
				t.Fatalf("%+v selects %s, outside %q", scopes, g.Key(), rs)
			}
			if got, want := inRanges(both, g.Key()), inRanges(rs, g.Key()) && inRanges(other, g.Key()); got != want {
				t.Fatalf("%s in the intersection of %q and %q: %v", g.Key(), rs, other, got)
			}
		}
		for i := 1; i < len(rs); i++ {
			if rs[i].Low <= rs[i-1].High || rs[i].Low >= rs[i].High {
				t.Fatalf("ranges not sorted and disjoint: %q", rs)
			}
		}
	}
	pinned := GroupRanges([]Scope{{Partitions: []string{"aws"}, Regions: []string{"us-east-1", ""}, Accounts: []string{"1"}}})
	if fmt.Sprint(pinned) != "[{aws::1 aws::1\x00} {aws:us-east-1:1 aws:us-east-1:1\x00}]" {
		t.Fatalf("pinned scope: %q", pinned)
	}
}

func TestIntersectKinds(t *testing.T) {
	inst := Kind{Service: "ec2", Type: "instance"}
	ec2 := Kind{Service: "ec2", AnyType: true}
	any := Kind{AnyType: true}
	s3 := Kind{Service: "s3", AnyType: true}
	for _, tc := range []struct {
		a, b, want []Kind
	}{
		{nil, nil, nil},
		{nil, []Kind{inst}, []Kind{inst}},
		{[]Kind{ec2}, nil, []Kind{ec2}},
		{[]Kind{ec2}, []Kind{inst}, []Kind{inst}},
		{[]Kind{inst}, []Kind{ec2}, []Kind{inst}},
		{[]Kind{any}, []Kind{s3, inst}, []Kind{s3, inst}},
		{[]Kind{s3}, []Kind{inst}, []Kind{}},
		{[]Kind{{Service: "ec2", Type: "volume"}}, []Kind{inst}, []Kind{}},
		{[]Kind{}, nil, []Kind{}},
	} {
		if got := IntersectKinds(tc.a, tc.b); !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("IntersectKinds(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
