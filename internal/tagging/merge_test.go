package tagging

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// TestMergeDistinct pages through random per-namespace sets and checks the
// pages against the sorted union, and that reads stay near the page size.
func TestMergeDistinct(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := 1 + r.IntN(40)
		nss := make([]arn.Namespace, n)
		sets := make([][]string, n)
		union := map[string]bool{}
		for i := range nss {
			nss[i] = arn.Namespace{Partition: "p", Service: "s", Type: fmt.Sprint(i)}
			for range r.IntN(60) {
				v := fmt.Sprintf("v%03d", r.IntN(150))
				if r.IntN(10) == 0 {
					v = ""
				}
				if !slices.Contains(sets[i], v) {
					sets[i] = append(sets[i], v)
				}
				union[v] = true
			}
			slices.Sort(sets[i])
		}
		scan := func(open []arn.Namespace, from string, limit int) ([][]string, error) {
			out := make([][]string, len(open))
			for j, ns := range open {
				var i int
				fmt.Sscan(ns.Type, &i)
				for _, v := range sets[i] {
					if v >= from && len(out[j]) < limit {
						out[j] = append(out[j], v)
					}
				}
			}
			return out, nil
		}
		want := slices.Sorted(func(yield func(string) bool) {
			for v := range union {
				if !yield(v) {
					return
				}
			}
		})
		size := 1 + r.IntN(30)
		var got []string
		from := ""
		for pages := 0; ; pages++ {
			if pages > 1000 {
				t.Fatal("paging does not end")
			}
			page, more, err := mergeDistinct(nss, from, size, scan)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > size || more && len(page) != size {
				t.Fatalf("round %d: page of %d, size %d, more %v", round, len(page), size, more)
			}
			got = append(got, page...)
			if !more {
				break
			}
			from = tagstore.Successor(page[len(page)-1])
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d (size %d, %d namespaces):\\ngot  %q\\nwant %q", round, size, n, got, want)
		}
	}
}
