package tagging

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// TestMergeDistinct pages through random per-group sets, with groups that
// run out of budget at random, and checks the pages against the sorted
// union.
func TestMergeDistinct(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n := 1 + r.IntN(40)
		gs := make([]arn.Group, n)
		kinds := make([][]arn.Kind, n)
		sets := make([][]string, n)
		union := map[string]bool{}
		for i := range gs {
			gs[i] = arn.Group{Partition: "p", Account: fmt.Sprint(i)}
			if i%3 == 1 {
				kinds[i] = []arn.Kind{{Service: "s", AnyType: true}}
			}
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
		budget := r.IntN(5) // 0: none
		scan := func(sub []arn.Group, q tagstore.StringsQuery) ([]tagstore.StringsResult, error) {
			out := make([]tagstore.StringsResult, len(sub))
			for j, g := range sub {
				var i int
				fmt.Sscan(g.Account, &i)
				examined := 0
				for _, v := range sets[i] {
					if v < q.From || len(out[j].Strings) == q.Limit {
						continue
					}
					if budget > 0 && examined == budget {
						out[j].More, out[j].Next = true, v
						break
					}
					examined++
					out[j].Strings = append(out[j].Strings, v)
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
			if pages > 10000 {
				t.Fatal("paging does not end")
			}
			page, next, err := mergeDistinct(gs, kinds, from, size, scan)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > size || next != "" && next <= from {
				t.Fatalf("round %d: page of %d, size %d, next %q from %q", round, len(page), size, next, from)
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			from = next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d (size %d, %d groups, budget %d):\ngot  %q\nwant %q", round, size, n, budget, got, want)
		}
	}
}
