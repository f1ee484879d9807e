// Package storehealth watches the tag store from tagway's side: it counts
// and logs store failures without flooding the log, and probes the store so
// that readiness is known before a caller asks.
package storehealth

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/tagway/tagway/internal/logevery"
)

// DefaultLogInterval is how often Failures logs while failures go on.
const DefaultLogInterval = 10 * time.Second

// Failures counts store failures and logs them rate-limited: the first
// failure after a quiet spell at once, then at most one line per interval,
// saying how many failed since the last line. A 3 s outage under load thus
// costs a line or two, not one per failed call. Its zero value is not
// usable; call NewFailures.
type Failures struct {
	log   *logevery.Limiter
	total atomic.Uint64
}

// NewFailures returns a Failures logging to log at most once per interval
// (DefaultLogInterval when zero).
func NewFailures(log *slog.Logger, interval time.Duration) *Failures {
	if interval <= 0 {
		interval = DefaultLogInterval
	}
	return &Failures{log: logevery.New(log, interval)}
}

// Report counts one failure of op ("read", "change", ...) and logs it
// unless a line was logged within the interval.
func (f *Failures) Report(ctx context.Context, op string, err error) {
	f.total.Add(1)
	f.log.Log(ctx, slog.LevelWarn, "tag store call failed", slog.String("operation", op), slog.Any("error", err))
}

// Total returns how many failures were reported.
func (f *Failures) Total() uint64 { return f.total.Load() }
