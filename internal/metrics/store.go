package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// Store returns s with the duration and result of each call recorded in
// r's tagway_store_call_duration_seconds, by Store method.
func Store(s tagstore.Store, r *Registry) tagstore.Store {
	return &store{Store: s, h: r.store}
}

type store struct {
	tagstore.Store
	h *prometheus.HistogramVec
}

// Unwrap implements tagstore.Wrapper: the feed and the journal of the
// store are found through it (their reads are not measured here).
func (s *store) Unwrap() tagstore.Store { return s.Store }

// observe records one call of op that began at start and ended with *err
// (deferred, with the method's named error result).
func (s *store) observe(op string, start time.Time, err *error) {
	result := "ok"
	if *err != nil {
		result = "error"
	}
	s.h.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
}

// Apply implements tagstore.Store; a call counts as failed when any of its
// changes did not apply for a reason other than a tag limit.
func (s *store) Apply(ctx context.Context, changes []tagstore.Change) []error {
	start := time.Now()
	errs := s.Store.Apply(ctx, changes)
	var failed error
	for _, err := range errs {
		var limit *tagstore.LimitError
		if err != nil && !errors.As(err, &limit) {
			failed = err
			break
		}
	}
	s.observe("Apply", start, &failed)
	return errs
}

func (s *store) Get(ctx context.Context, names []arn.Name) (_ []tagstore.Resource, err error) {
	defer s.observe("Get", time.Now(), &err)
	return s.Store.Get(ctx, names)
}

func (s *store) Groups(ctx context.Context, r arn.KeyRange, limit int) (_ []arn.Group, err error) {
	defer s.observe("Groups", time.Now(), &err)
	return s.Store.Groups(ctx, r, limit)
}

func (s *store) GroupsWithKey(ctx context.Context, key string, r arn.KeyRange, limit int) (_ []arn.Group, err error) {
	defer s.observe("GroupsWithKey", time.Now(), &err)
	return s.Store.GroupsWithKey(ctx, key, r, limit)
}

func (s *store) Keys(ctx context.Context, from string, limit int) (_ []string, err error) {
	defer s.observe("Keys", time.Now(), &err)
	return s.Store.Keys(ctx, from, limit)
}

func (s *store) ScanResources(ctx context.Context, g arn.Group, q tagstore.ScanQuery) (_ tagstore.ScanResult, err error) {
	defer s.observe("ScanResources", time.Now(), &err)
	return s.Store.ScanResources(ctx, g, q)
}

func (s *store) ScanKeys(ctx context.Context, gs []arn.Group, q tagstore.StringsQuery) (_ []tagstore.StringsResult, err error) {
	defer s.observe("ScanKeys", time.Now(), &err)
	return s.Store.ScanKeys(ctx, gs, q)
}

func (s *store) ScanValues(ctx context.Context, gs []arn.Group, key string, q tagstore.StringsQuery) (_ []tagstore.StringsResult, err error) {
	defer s.observe("ScanValues", time.Now(), &err)
	return s.Store.ScanValues(ctx, gs, key, q)
}

func (s *store) Count(ctx context.Context, g arn.Group, q tagstore.CountQuery) (_ int, err error) {
	defer s.observe("Count", time.Now(), &err)
	return s.Store.Count(ctx, g, q)
}

func (s *store) ForgetEmpty(ctx context.Context, limit int) (_ int, err error) {
	defer s.observe("ForgetEmpty", time.Now(), &err)
	return s.Store.ForgetEmpty(ctx, limit)
}

func (s *store) Ping(ctx context.Context) (err error) {
	defer s.observe("Ping", time.Now(), &err)
	return s.Store.Ping(ctx)
}

// PoolCollector returns a collector of a Redis client's connection pool
// statistics (tagway_redis_pool_*), read from stats at each scrape.
func PoolCollector(stats func() *redis.PoolStats) prometheus.Collector {
	return &poolCollector{stats: stats}
}

type poolCollector struct{ stats func() *redis.PoolStats }

var poolDescs = struct{ hits, misses, timeouts, waits, waitSecs, total, idle, stale, pending *prometheus.Desc }{
	hits:     prometheus.NewDesc("tagway_redis_pool_hits_total", "Times a free Redis connection was found in the pool.", nil, nil),
	misses:   prometheus.NewDesc("tagway_redis_pool_misses_total", "Times no free Redis connection was in the pool.", nil, nil),
	timeouts: prometheus.NewDesc("tagway_redis_pool_timeouts_total", "Times waiting for a Redis connection timed out.", nil, nil),
	waits:    prometheus.NewDesc("tagway_redis_pool_waits_total", "Times a call waited for a Redis connection.", nil, nil),
	waitSecs: prometheus.NewDesc("tagway_redis_pool_wait_seconds_total", "Time spent waiting for Redis connections.", nil, nil),
	total:    prometheus.NewDesc("tagway_redis_pool_connections", "Redis connections in the pool.", nil, nil),
	idle:     prometheus.NewDesc("tagway_redis_pool_idle_connections", "Idle Redis connections in the pool.", nil, nil),
	stale:    prometheus.NewDesc("tagway_redis_pool_stale_connections_total", "Stale Redis connections removed from the pool.", nil, nil),
	pending:  prometheus.NewDesc("tagway_redis_pool_pending_requests", "Calls waiting for a Redis connection now.", nil, nil),
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolDescs.hits, poolDescs.misses, poolDescs.timeouts, poolDescs.waits, poolDescs.waitSecs, poolDescs.total, poolDescs.idle, poolDescs.stale, poolDescs.pending} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter(poolDescs.hits, float64(s.Hits))
	counter(poolDescs.misses, float64(s.Misses))
	counter(poolDescs.timeouts, float64(s.Timeouts))
	counter(poolDescs.waits, float64(s.WaitCount))
	counter(poolDescs.waitSecs, time.Duration(s.WaitDurationNs).Seconds())
	counter(poolDescs.stale, float64(s.StaleConns))
	gauge(poolDescs.total, float64(s.TotalConns))
	gauge(poolDescs.idle, float64(s.IdleConns))
	gauge(poolDescs.pending, float64(s.PendingRequests))
}
