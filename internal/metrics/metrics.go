// Package metrics holds tagway's Prometheus metrics, on client_golang: Go
// runtime and process collectors, the standard gRPC server metrics, every
// request by surface, operation and code, and tagway's own counters.
package metrics

import (
	"net/http"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
)

// Buckets are the upper bounds, in seconds, of the duration histograms.
var Buckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Registry holds the metrics /metrics serves. Its zero value is not usable;
// call New.
type Registry struct {
	reg       *prometheus.Registry
	grpc      *grpcprom.ServerMetrics
	requests  *prometheus.HistogramVec
	ready     prometheus.Gauge
	resources *prometheus.CounterVec
	failures  *prometheus.CounterVec
	refused   *prometheus.CounterVec
	store     *prometheus.HistogramVec
	handler   http.Handler
}

// New returns a registry with the Go runtime, process and gRPC server
// collectors and tagway's own metrics.
func New() *Registry {
	started := time.Now()
	r := &Registry{
		reg: prometheus.NewRegistry(),
		grpc: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
			grpcprom.WithHistogramBuckets(Buckets))),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tagway_request_duration_seconds",
			Help:    "Requests served, by surface (grpc, aws, huawei), operation and result code (the gRPC code or the HTTP status), and how long they took.",
			Buckets: Buckets,
		}, []string{"surface", "operation", "code"}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tagway_store_ready",
			Help: "Whether the tag store answered the last readiness check (1) or not (0).",
		}),
		resources: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tagway_resources_changed_total",
			Help: "Resources a TagResources or UntagResources call changed, by operation (tag, untag).",
		}, []string{"operation"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tagway_resource_failures_total",
			Help: "Resources of a TagResources or UntagResources call that were not changed, by operation (tag, untag) and reason (tagway.v1.FailureReason).",
		}, []string{"operation", "reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tagway_calls_refused_total",
			Help: "Calls the access layer refused whole, by operation and reason (THROTTLED: over the caller's rate limit; OVERLOADED: too many calls in flight; DENIED_BY_POLICY).",
		}, []string{"operation", "reason"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tagway_store_call_duration_seconds",
			Help:    "Calls to the tag store, by operation (the Store method) and result (ok, error), and how long they took.",
			Buckets: Buckets,
		}, []string{"operation", "result"}),
	}
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		r.grpc, r.requests, r.ready, r.resources, r.failures, r.refused, r.store,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tagway_start_time_seconds",
			Help: "When tagway started, in seconds since the Unix epoch.",
		}, func() float64 { return float64(started.Unix()) }),
	)
	r.handler = promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
	return r
}

// Refused counts a call refused whole for reason (a tagging.Reason* of a
// refusal: THROTTLED, OVERLOADED, DENIED_BY_POLICY).
func (r *Registry) Refused(operation, reason string) {
	r.refused.WithLabelValues(operation, reason).Inc()
}

// Handler serves the metrics in the format the scraper asks for.
func (r *Registry) Handler() http.Handler { return r.handler }

// Register adds collectors, such as the Redis pool's (PoolCollector).
func (r *Registry) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := r.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// AddCounter adds a counter, named name and described by help, whose value
// is read from value at each scrape.
func (r *Registry) AddCounter(name, help string, value func() uint64) {
	r.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
		func() float64 { return float64(value()) }))
}

// Observe records one request. surface is grpc, aws or huawei; operation
// and code come from fixed sets, so that series stay few.
func (r *Registry) Observe(surface, operation, code string, d time.Duration) {
	r.requests.WithLabelValues(surface, operation, code).Observe(d.Seconds())
}

// SetReady records whether the store answers.
func (r *Registry) SetReady(ready bool) {
	v := 0.0
	if ready {
		v = 1
	}
	r.ready.Set(v)
}

// GRPCUnary returns the interceptor that keeps the standard gRPC server
// metrics (grpc_server_started_total, grpc_server_handled_total,
// grpc_server_handling_seconds, grpc_server_msg_*).
func (r *Registry) GRPCUnary() grpc.UnaryServerInterceptor { return r.grpc.UnaryServerInterceptor() }

// GRPCStream is GRPCUnary for streaming calls.
func (r *Registry) GRPCStream() grpc.StreamServerInterceptor { return r.grpc.StreamServerInterceptor() }

// InitGRPC creates the gRPC series of every method srv serves at zero, so
// that rates exist before the first call.
func (r *Registry) InitGRPC(srv *grpc.Server) { r.grpc.InitializeMetrics(srv) }
