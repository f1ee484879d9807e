package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/tagway/tagway/internal/tagstore"
)

// Bench benchmarks a backend. newStore returns an empty store; Bench closes
// it. The Scan benchmarks hold the matches fixed at 10 while the group
// grows, so their ns/op show whether a scan costs what it finds or what the
// store holds.
func Bench(b *testing.B, newStore func(b *testing.B) tagstore.Store) {
	ctx := context.Background()
	b.Run("Tag", func(b *testing.B) {
		s := newStore(b)
		defer s.Close()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c := set(b, fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%d", i%10000), "env", fmt.Sprint(i%7), "team", "a", "cost", "1")
			c.MaxTags = 50
			if err := s.Apply(ctx, []tagstore.Change{c})[0]; err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("TagBatch20", func(b *testing.B) {
		s := newStore(b)
		defer s.Close()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			changes := make([]tagstore.Change, 20)
			for j := range changes {
				changes[j] = set(b, fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%d", (i*20+j)%10000), "env", fmt.Sprint(i%7))
			}
			for _, err := range s.Apply(ctx, changes) {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	for _, size := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("Scan10Of%d", size), func(b *testing.B) {
			s := newStore(b)
			defer s.Close()
			fill(b, s, size)
			n := grp(b, i1)
			q := tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "common"}, {Key: "rare", Values: []string{"yes"}}}, Limit: 100}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r, err := s.ScanResources(ctx, n, q)
				if err != nil || len(r.Resources) != 10 {
					b.Fatalf("scan: %d resources, %v", len(r.Resources), err)
				}
			}
		})
	}
}

// fill puts size resources in one group, all with "common", ten of them
// also with rare=yes.
func fill(b *testing.B, s tagstore.Store, size int) {
	b.Helper()
	const batch = 500
	for start := 0; start < size; start += batch {
		var changes []tagstore.Change
		for i := start; i < min(start+batch, size); i++ {
			kv := []string{"common", fmt.Sprint(i % 13), "env", "dev"}
			if i%(size/10) == 0 {
				kv = append(kv, "rare", "yes")
			}
			changes = append(changes, set(b, fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%07d", i), kv...))
		}
		for _, err := range s.Apply(context.Background(), changes) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
