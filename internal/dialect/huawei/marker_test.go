package huawei

import (
	"regexp"
	"sort"
	"strings"
	"testing"
)

func TestMarkers(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z0-9+/=_.-]{4,400}$`)
	keys := []string{"a", "b", "env", strings.Repeat("😀", 100), strings.Repeat("😀", 127) + "a", strings.Repeat("😀", 127) + "b", strings.Repeat("键", 128), "z"}
	sort.Strings(keys)
	for i, k := range keys {
		m := markerAfter(k)
		if !pattern.MatchString(m) {
			t.Fatalf("marker for a %d-byte key: %d characters %q", len(k), len(m), m)
		}
		got, err := resume(keys, m)
		if err != nil || got != i+1 {
			t.Fatalf("resume after key %d = %d, %v", i, got, err)
		}
	}
	// A removed key resumes at the next one.
	got, err := resume([]string{"a", "c"}, markerAfter("b"))
	if err != nil || got != 1 {
		t.Fatalf("resume after a removed key = %d, %v", got, err)
	}
	long := strings.Repeat("😀", 127) + "a"
	got, err = resume([]string{"a", strings.Repeat("😀", 127) + "b", "z"}, markerAfter(long))
	if err != nil || got != 2 {
		t.Fatalf("resume after a removed long key = %d, %v", got, err)
	}
	for _, m := range []string{"", "abc", strings.Repeat("a", 401), "!!!!", "dDE", "eDlh"} {
		if _, err := resume(keys, m); err == nil {
			t.Errorf("resume(%q) accepted", m)
		}
	}
}
