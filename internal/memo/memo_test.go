package memo

import "testing"

func TestBounded(t *testing.T) {
	m := New[int, string](2)
	made := 0
	get := func(k int) string {
		return m.Get(k, func() string { made++; return string(rune('a' + k)) })
	}
	if get(0) != "a" || get(0) != "a" || made != 1 {
		t.Fatalf("a value was made %d times for one key", made)
	}
	get(1)
	if made != 2 {
		t.Fatalf("made %d", made)
	}
	// Past the bound the memo starts over: the third key clears it.
	get(2)
	if get(0) != "a" || made != 4 {
		t.Fatalf("after the bound: made %d, want 4", made)
	}
}
