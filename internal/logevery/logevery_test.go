package logevery

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second)
	now := time.Unix(0, 0)
	l.SetClock(func() time.Time { return now })
	for range 5 {
		l.Log(context.Background(), slog.LevelWarn, "trouble", slog.String("what", "x"))
	}
	if n := strings.Count(buf.String(), "trouble"); n != 1 {
		t.Fatalf("%d lines within the interval, want 1:\n%s", n, buf.String())
	}
	now = now.Add(10 * time.Second)
	l.Log(context.Background(), slog.LevelWarn, "trouble")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "not_logged=4") || !strings.Contains(lines[1], "since=10s") {
		t.Fatalf("after the interval:\n%s", buf.String())
	}
}
