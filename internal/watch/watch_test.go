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

func TestAdvanceOnlyMovesForward(t *testing.T) {
	const a, b = "aws:us-east-1:111111111111", "aws:eu-west-1:111111111111"
	p := watch.Position{Base: tagstore.Pos{Ms: 10}, Groups: map[string]tagstore.Pos{a: {Ms: 20}}}
	p.Advance([]watch.GroupPos{
		{Group: a, Pos: tagstore.Pos{Ms: 15}},         // behind a's place: ignored
		{Group: b, Pos: tagstore.Pos{Ms: 10}},         // at the base: ignored
		{Group: b, Pos: tagstore.Pos{Ms: 9, Seq: 99}}, // before the base: ignored
	})
	if len(p.Groups) != 1 || p.Groups[a] != (tagstore.Pos{Ms: 20}) {
		t.Fatalf("moves behind the position changed it: %+v", p)
	}
	p.Advance([]watch.GroupPos{{Group: a, Pos: tagstore.Pos{Ms: 21}}, {Group: b, Pos: tagstore.Pos{Ms: 11, Seq: 1}}})
	if p.Groups[a] != (tagstore.Pos{Ms: 21}) || p.Groups[b] != (tagstore.Pos{Ms: 11, Seq: 1}) || p.Base != (tagstore.Pos{Ms: 10}) {
		t.Fatalf("moves ahead were not taken: %+v", p)
	}
}

func TestMovesRoundTrip(t *testing.T) {
	moves := []watch.GroupPos{{Group: "aws:us-east-1:111111111111", Pos: tagstore.Pos{Ms: 1795693198217, Seq: 3}}, {Group: "huaweicloud::abc", Pos: tagstore.Pos{Ms: 1}}}
	got, err := watch.ParseMoves(watch.AppendMoves(nil, moves))
	if err != nil || !slices.Equal(got, moves) {
		t.Fatalf("ParseMoves(AppendMoves(%v)) = %v, %v", moves, got, err)
	}
	good := watch.AppendMoves(nil, moves[:1])
	for name, bad := range map[string][]byte{
		"truncated":   good[:len(good)-1],
		"not a group": watch.AppendMoves(nil, []watch.GroupPos{{Group: "nope", Pos: tagstore.Pos{Ms: 1}}}),
		"too long":    {0xff},
		"too many":    watch.AppendMoves(nil, slices.Repeat(moves[:1], 65)),
	} {
		if _, err := watch.ParseMoves(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseMoves(f *testing.F) {
	f.Add(watch.AppendMoves(nil, []watch.GroupPos{{Group: "aws:us-east-1:111111111111", Pos: tagstore.Pos{Ms: 12, Seq: 1}}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		moves, err := watch.ParseMoves(b)
		if err != nil {
			return
		}
		// What parses, round-trips.
		again, err := watch.ParseMoves(watch.AppendMoves(nil, moves))
		if err != nil || !slices.Equal(again, moves) {
			t.Fatalf("%x: %v, %v", b, again, err)
		}
	})
}
