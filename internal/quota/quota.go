// Package quota limits how often each principal may call each operation,
// with a GCRA limit that every tagway replica on one Redis shares, or one
// kept in this process.
package quota

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/tagway/tagway/internal/operation"
)

// Limit is how many calls a second a principal may make to one operation;
// as many may come at once. 0 is no limit.
type Limit int

// AWS are limits modelled on AWS's published quotas for the Resource Groups
// Tagging API (Tag Editor user guide, "Quotas"): 5 calls a second for
// TagResources, UntagResources, GetTagKeys and GetTagValues, 15 for
// GetResources. The core's reads that GetResources makes (ListResources,
// GetResourceTags, CountResources) take its figure; a watch is opened at
// most as often as keys are listed.
var AWS = map[string]Limit{
	operation.TagResources:    5,
	operation.UntagResources:  5,
	operation.GetResourceTags: 15,
	operation.ListResources:   15,
	operation.CountResources:  15,
	operation.ListTagKeys:     5,
	operation.ListTagValues:   5,
	operation.WatchTagChanges: 5,
}

// Result is the answer to one call.
type Result struct {
	Allowed bool
	// RetryAfter is how long to wait before the next call would be
	// allowed, when this one is not.
	RetryAfter time.Duration
	// Limit is the limit applied.
	Limit Limit
}

// Limiter counts calls under keys.
type Limiter interface {
	// Allow counts one call under key against l.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}

// Quotas applies per-operation limits to principals.
type Quotas struct {
	defaults map[string]Limit
	limiter  Limiter
}

// New returns Quotas applying defaults (nil: none) through limiter.
func New(defaults map[string]Limit, limiter Limiter) *Quotas {
	return &Quotas{defaults: defaults, limiter: limiter}
}

// Take counts one call by principal to op. overrides (from the auth file)
// replace the defaults per operation. A call with no limit is allowed
// without being counted. A limiter that fails lets the call through: the
// limiters here fail only for a store that is gone, and quotas protect the
// store; they are not a security boundary.
func (q *Quotas) Take(ctx context.Context, principal string, overrides map[string]int, op string) Result {
	l, ok := q.defaults[op]
	if n, set := overrides[op]; set {
		l, ok = Limit(n), true
	}
	if !ok || l <= 0 {
		return Result{Allowed: true}
	}
	r, err := q.limiter.Allow(ctx, principal+":"+op, l)
	if err != nil {
		return Result{Allowed: true, Limit: l}
	}
	return r
}

// Local is a Limiter for one process: a token bucket per key, which allows
// the same calls as GCRA with the same rate and burst.
type Local struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	lim   *rate.Limiter
	limit Limit
}

// maxLocalKeys bounds the buckets Local keeps; past it, the buckets that
// are full (as if never used) are dropped.
const maxLocalKeys = 1 << 16

// NewLocal returns an empty Local limiter.
func NewLocal() *Local {
	return &Local{buckets: map[string]*bucket{}, now: time.Now}
}

// Allow implements Limiter.
func (l *Local) Allow(_ context.Context, key string, lim Limit) (Result, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil || b.limit != lim {
		if len(l.buckets) >= maxLocalKeys {
			l.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(lim), int(lim)), limit: lim}
		l.buckets[key] = b
	}
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return Result{RetryAfter: d, Limit: lim}, nil
	}
	return Result{Allowed: true, Limit: lim}, nil
}

// sweep drops the buckets that are full at now; if all are in use, all.
func (l *Local) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.lim.TokensAt(now) >= float64(b.limit) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxLocalKeys {
		clear(l.buckets)
	}
}

// Redis is a Limiter shared by every tagway on one Redis: GCRA in a Lua
// script (go-redis/redis_rate), one key per principal and operation, timed
// by the Redis server's clock. When Redis fails, calls are counted in this
// process instead, and Redis is tried again at most once a second; the log
// says so once when it starts and once when it ends.
type Redis struct {
	rl      *redis_rate.Limiter
	prefix  string
	local   *Local
	log     *slog.Logger
	timeout time.Duration

	failing   atomic.Bool
	nextTryNs atomic.Int64
}

// RedisTimeout bounds each call to Redis: a Redis slower than this is
// treated as failing.
const RedisTimeout = 250 * time.Millisecond

// NewRedis returns a Limiter keeping its counts in client under keys
// "rate:<prefix>rl:<principal>:<operation>".
func NewRedis(client redis.UniversalClient, prefix string, log *slog.Logger) *Redis {
	return &Redis{rl: redis_rate.NewLimiter(client), prefix: prefix + "rl:", local: NewLocal(), log: log, timeout: RedisTimeout}
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if r.failing.Load() && time.Now().UnixNano() < r.nextTryNs.Load() {
		return r.local.Allow(ctx, key, l)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.rl.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: int(l), Burst: int(l), Period: time.Second})
	if err != nil {
		if ctx.Err() != nil && context.Cause(ctx) == context.Canceled {
			return Result{}, err // the call itself is gone
		}
		r.nextTryNs.Store(time.Now().Add(time.Second).UnixNano())
		if !r.failing.Swap(true) {
			r.log.Warn("rate limits: Redis failed; counting calls in this process until it answers again", "error", err)
		}
		return r.local.Allow(ctx, key, l)
	}
	if r.failing.Swap(false) {
		r.log.Info("rate limits: Redis answers again; limits are shared again")
	}
	if res.Allowed > 0 {
		return Result{Allowed: true, Limit: l}, nil
	}
	return Result{RetryAfter: max(res.RetryAfter, time.Millisecond), Limit: l}, nil
}
