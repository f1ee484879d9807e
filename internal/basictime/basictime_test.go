package basictime

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for s, want := range map[string]time.Time{
		"20261126T071500Z": time.Date(2026, 11, 26, 7, 15, 0, 0, time.UTC),
		"20240229T235959Z": time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
		"00010101T000000Z": time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, ok := Parse(s); !ok || !got.Equal(want) {
			t.Errorf("Parse(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "20261126T071500", "20261126T071500z", "20261126 071500Z", "20261126T071560Z",
		"20250229T000000Z", "20261100T000000Z", "2026112 T071500Z", "20261126T0715000", "+2026112T071500Z"} {
		if _, ok := Parse(s); ok {
			t.Errorf("Parse(%q) succeeded", s)
		}
	}
}
