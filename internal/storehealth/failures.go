// Package storehealth watches the tag store from tagway's side: it counts
// and logs store failures without flooding the log, and probes the store so
// that readiness is known before a caller asks.
package storehealth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultLogInterval is how often Failures logs while failures go on.
const DefaultLogInterval = 10 * time.Second

// Failures counts store failures and logs them rate-limited: the first
// failure after a quiet spell at once, then at most one line per interval,
// saying how many failed since the last line. A 3 s outage under load thus
// costs a line or two, not one per failed call. Its zero value is not
// usable; call NewFailures.
type Failures struct {
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time

	total atomic.Uint64

	mu         sync.Mutex
	lastLog    time.Time
	suppressed uint64
}

// NewFailures returns a Failures logging to log at most once per interval
// (DefaultLogInterval when zero).
func NewFailures(log *slog.Logger, interval time.Duration) *Failures {
	if interval <= 0 {
		interval = DefaultLogInterval
	}
	return &Failures{log: log, interval: interval, now: time.Now}
}

// Report counts one failure of op ("read", "change", ...) and logs it
// unless a line was logged within the interval.
func (f *Failures) Report(ctx context.Context, op string, err error) {
	f.total.Add(1)
	f.mu.Lock()
	now := f.now()
	if !f.lastLog.IsZero() && now.Sub(f.lastLog) < f.interval {
		f.suppressed++
		f.mu.Unlock()
		return
	}
	suppressed := f.suppressed
	f.lastLog, f.suppressed = now, 0
	f.mu.Unlock()
	attrs := []slog.Attr{slog.String("operation", op), slog.Any("error", err)}
	if suppressed > 0 {
		attrs = append(attrs, slog.Uint64("failures_not_logged", suppressed), slog.Duration("since", f.interval))
	}
	f.log.LogAttrs(ctx, slog.LevelWarn, "tag store call failed", attrs...)
}

// Total returns how many failures were reported.
func (f *Failures) Total() uint64 { return f.total.Load() }
