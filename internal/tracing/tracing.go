// Package tracing traces calls with OpenTelemetry: a span per gRPC call and
// REST request (otelgrpc, otelhttp) with W3C traceparent propagation, a
// child span per core call and one per Redis round trip (redisotel). It is
// off, and costs nothing, unless the standard OTEL_* variables ask for an
// exporter.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/tagway/tagway/internal/accesslog"
)

// Tracing is the tracing of one tagway process. The zero value, and a nil
// one, trace nothing: every method then returns what it was given.
type Tracing struct {
	tp    trace.TracerProvider
	prop  propagation.TextMapPropagator
	close func(context.Context) error
}

// New traces into tp, propagating context with the W3C traceparent and
// baggage headers. Tests pass an SDK provider with an in-memory exporter.
func New(tp trace.TracerProvider) *Tracing {
	return &Tracing{tp: tp, prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
}

// FromEnv returns the tracing the standard OpenTelemetry variables ask for,
// read with getenv: off (nil) unless OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, or when OTEL_SDK_DISABLED is
// true or OTEL_TRACES_EXPORTER is none. The exporter speaks OTLP over
// OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: http/protobuf (the default) or
// grpc; the exporters and the SDK read the other OTEL_* variables
// themselves (headers, TLS, timeouts, OTEL_TRACES_SAMPLER,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES). version is tagway's, for
// the service.version resource attribute.
func FromEnv(ctx context.Context, getenv func(string) string, version string) (*Tracing, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, nil
	}
	switch e := getenv("OTEL_TRACES_EXPORTER"); e {
	case "none":
		return nil, nil
	case "", "otlp":
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: tagway exports otlp or none", e)
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: want http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(semconv.ServiceName("tagway"), semconv.ServiceVersion(version)),
		resource.Environment(),
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	t := New(tp)
	t.close = tp.Shutdown
	return t, nil
}

// Enabled reports whether calls are traced.
func (t *Tracing) Enabled() bool { return t != nil && t.tp != nil }

// Shutdown flushes the spans not yet exported, within ctx.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.close == nil {
		return nil
	}
	return t.close(ctx)
}

// HTTP returns h with a server span per request, continuing the trace of
// the request's traceparent. The span is named for the HTTP method until
// the server names it for the operation (Name).
func (t *Tracing) HTTP(h http.Handler) http.Handler {
	if !t.Enabled() {
		return h
	}
	return otelhttp.NewHandler(h, "tagway",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.prop),
		otelhttp.WithFilter(func(r *http.Request) bool { return !accesslog.Probe(r.URL.Path) }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}

// Name names the span of a request for its surface and operation, both
// from fixed sets.
func Name(ctx context.Context, surface, operation string) {
	if sp := trace.SpanFromContext(ctx); sp.IsRecording() {
		sp.SetName(surface + " " + operation)
	}
}

// GRPCOptions returns the server options that give each gRPC call a span
// (the otelgrpc stats handler; health checks are left out).
func (t *Tracing) GRPCOptions() []grpc.ServerOption {
	if !t.Enabled() {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(t.tp),
		otelgrpc.WithPropagators(t.prop),
		otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool {
			return !accesslog.HealthCheck(info.FullMethodName)
		}),
	))}
}

// Redis gives each command and pipeline client sends a span. Commands are
// not recorded in the spans: they hold resource names and tag values.
func (t *Tracing) Redis(client redis.UniversalClient) error {
	if !t.Enabled() {
		return nil
	}
	err := redisotel.InstrumentTracing(client,
		redisotel.WithTracerProvider(t.tp),
		redisotel.WithDBStatement(false),
		redisotel.WithCallerEnabled(false))
	if err != nil {
		return errors.New("tracing Redis: " + err.Error())
	}
	return nil
}
