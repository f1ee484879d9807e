package storehealth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFailuresAreCountedAndLoggedRateLimited(t *testing.T) {
	var buf syncBuffer
	f := NewFailures(slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second)
	now := time.Unix(1000, 0)
	f.log.SetClock(func() time.Time { return now })
	boom := errors.New("connection refused")
	for range 1400 {
		f.Report(context.Background(), "change", boom)
	}
	if got := strings.Count(buf.String(), "\n"); got != 1 {
		t.Fatalf("1400 failures within the interval logged %d lines:\n%s", got, buf.String())
	}
	now = now.Add(11 * time.Second)
	f.Report(context.Background(), "read", boom)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "not_logged=1399") || !strings.Contains(lines[1], "operation=read") {
		t.Fatalf("second line: %q", lines)
	}
	if f.Total() != 1401 {
		t.Fatalf("Total = %d", f.Total())
	}
}

func TestProberFollowsTheStore(t *testing.T) {
	var down atomic.Bool
	var buf syncBuffer
	p := NewProber(func(ctx context.Context) error {
		if down.Load() {
			<-ctx.Done() // a stalled store answers nothing
			return ctx.Err()
		}
		return nil
	}, 20*time.Millisecond, 50*time.Millisecond, slog.New(slog.NewTextHandler(&buf, nil)))
	if !errors.Is(p.Ready(), ErrNotProbed) {
		t.Fatalf("before the first probe: %v", p.Ready())
	}
	var changes atomic.Int32
	p.Watch(func(error) { changes.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	waitFor := func(what string, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s: not within 5 s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return time.Since(start)
	}
	waitFor("ready", func() bool { return p.Ready() == nil })
	down.Store(true)
	waitFor("not ready", func() bool { return p.Ready() != nil })
	down.Store(false)
	waitFor("ready again", func() bool { return p.Ready() == nil })
	// Watch: once at once, then at each of the three changes.
	if n := changes.Load(); n != 4 {
		t.Fatalf("watchers called %d times", n)
	}
	if !strings.Contains(buf.String(), "not ready") || !strings.Contains(buf.String(), "answers again") {
		t.Fatalf("log: %s", buf.String())
	}
}

// failingForget is a store whose ForgetEmpty fails.
type failingForget struct {
	tagstore.Store
	calls atomic.Int32
}

func (f *failingForget) ForgetEmpty(context.Context, int) (int, error) {
	f.calls.Add(1)
	return 0, errors.New("no")
}

func TestForgetRunsAndReports(t *testing.T) {
	s := &failingForget{Store: memstore.New()}
	f := NewFailures(slog.New(slog.DiscardHandler), 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Forget(ctx, s, 5*time.Millisecond, f); close(done) }()
	for s.calls.Load() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if f.Total() < 3 {
		t.Fatalf("%d failures reported", f.Total())
	}
}
