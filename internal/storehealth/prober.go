package storehealth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Defaults of a Prober.
const (
	DefaultProbeInterval = 500 * time.Millisecond
	DefaultProbeTimeout  = 500 * time.Millisecond
)

// ErrNotProbed is the readiness of a Prober before its first probe ends.
var ErrNotProbed = errors.New("the store has not been probed yet")

// Prober pings the store on a schedule and keeps the answer, so that
// readiness checks answer at once from the last probe instead of waiting on
// a sick store, and a short outage is seen even when nobody asks. A store
// that stops answering is reported not ready within Interval+Timeout, and
// ready again within Interval of answering.
type Prober struct {
	ping     func(context.Context) error
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger

	mu       sync.Mutex
	err      error
	watchers []func(error)
}

// NewProber returns a Prober of ping. Zero durations take the defaults.
func NewProber(ping func(context.Context) error, interval, timeout time.Duration, log *slog.Logger) *Prober {
	if interval <= 0 {
		interval = DefaultProbeInterval
	}
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	return &Prober{ping: ping, interval: interval, timeout: timeout, log: log, err: ErrNotProbed}
}

// Watch calls f with the readiness after every change of it (nil: ready),
// and once now.
func (p *Prober) Watch(f func(error)) {
	p.mu.Lock()
	p.watchers = append(p.watchers, f)
	err := p.err
	p.mu.Unlock()
	f(err)
}

// Ready returns the result of the last probe: nil when the store answered.
func (p *Prober) Ready() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Probe pings the store once and records the answer.
func (p *Prober) Probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	err := p.ping(ctx)
	cancel()
	p.mu.Lock()
	was := p.err
	p.err = err
	watchers := p.watchers
	p.mu.Unlock()
	if (was == nil) != (err == nil) || errors.Is(was, ErrNotProbed) {
		switch {
		case err != nil:
			p.log.Warn("the tag store does not answer: not ready", "error", err)
		case was != nil && !errors.Is(was, ErrNotProbed):
			p.log.Info("the tag store answers again: ready")
		}
		for _, f := range watchers {
			f(err)
		}
	}
	return err
}

// Run probes every interval until ctx ends.
func (p *Prober) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		_ = p.Probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
