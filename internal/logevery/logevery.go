// Package logevery logs a recurring problem without flooding the log: the
// first occurrence after a quiet spell at once, then at most one line per
// interval, saying how many were not logged.
package logevery

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Limiter logs one kind of line at most once per interval.
type Limiter struct {
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed uint64
}

// New returns a Limiter logging to log at most once per interval.
func New(log *slog.Logger, interval time.Duration) *Limiter {
	return &Limiter{log: log, interval: interval, now: time.Now}
}

// Log logs msg with attrs at level, unless a line was logged within the
// interval; then it only counts it. A line after such a spell says how many
// were not logged ("not_logged") and over how long ("since").
func (l *Limiter) Log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < l.interval {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	if suppressed > 0 {
		attrs = append(attrs, slog.Uint64("not_logged", suppressed), slog.Duration("since", l.interval))
	}
	l.log.LogAttrs(ctx, level, msg, attrs...)
}

// SetClock makes l read the time from now, so that tests can move it.
func (l *Limiter) SetClock(now func() time.Time) {
	l.mu.Lock()
	l.now = now
	l.mu.Unlock()
}
