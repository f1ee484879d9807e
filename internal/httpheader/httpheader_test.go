package httpheader

import (
	"net/http"
	"testing"
)

func TestValues(t *testing.T) {
	h := http.Header{}
	h.Add("X-Amz-Date", "20261126T000000Z")
	h.Add("Content-Type", "a")
	h.Add("Content-Type", "b")
	long := "x-" + "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
	h.Add(long, "long")
	for name, want := range map[string][]string{
		"x-amz-date":   {"20261126T000000Z"},
		"content-type": {"a", "b"},
		long:           {"long"},
		"host":         nil,
	} {
		got := Values(h, name)
		if len(got) != len(want) {
			t.Fatalf("Values(%q) = %q, want %q", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("Values(%q) = %q, want %q", name, got, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { Values(h, "x-amz-date") }); n != 0 {
		t.Fatalf("Values allocates %v times", n)
	}
}
