package watch_test

import (
	"slices"
	"testing"

	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/watch"
)

func TestCursorRoundTrip(t *testing.T) {
	p := watch.Position{Base: tagstore.Pos{Ms: 10, Seq: 2}, Groups: map[string]tagstore.Pos{
		"aws:us-east-1:111111111111": {Ms: 12},
		"huaweicloud::abc":           {Ms: 11, Seq: 7},
	}}
	c := p.Cursor()
	if !slices.Equal(c, []string{"10-2", "aws:us-east-1:111111111111", "12-0", "huaweicloud::abc", "11-7"}) {
		t.Fatalf("cursor %q", c)
	}
	got, err := watch.ParseCursor(c)
	if err != nil || got.Base != p.Base || len(got.Groups) != 2 || got.Groups["huaweicloud::abc"] != p.Groups["huaweicloud::abc"] {
		t.Fatalf("ParseCursor = %+v, %v", got, err)
	}
	for _, bad := range [][]string{nil, {"x"}, {"1-1", "aws::"}, {"1-1", "not a group", "2-0"}, {"5-0", "aws::", "4-0"}, {"1-1", "aws::", "x"}} {
		if _, err := watch.ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) accepted", bad)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add("10-2", "aws:us-east-1:111111111111", "12-0")
	f.Add("0-0", "", "")
	f.Fuzz(func(t *testing.T, base, group, pos string) {
		p, err := watch.ParseCursor([]string{base, group, pos})
		if err != nil {
			return
		}
		// What parses, round-trips.
		again, err := watch.ParseCursor(p.Cursor())
		if err != nil || again.Base != p.Base || len(again.Groups) != len(p.Groups) {
			t.Fatalf("%q: round trip %+v, %v", []string{base, group, pos}, again, err)
		}
	})
}

func FuzzParsePos(f *testing.F) {
	f.Add("1795693198217-0")
	f.Add("-")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := tagstore.ParsePos(s)
		if err != nil {
			return
		}
		if q, err := tagstore.ParsePos(p.String()); err != nil || q != p {
			t.Fatalf("%q: %v, %v", s, q, err)
		}
	})
}
