package tracing_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/access"
	"github.com/tagway/tagway/internal/dialect/aws"
	"github.com/tagway/tagway/internal/grpcauth"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/server"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
	"github.com/tagway/tagway/internal/tracing"
)

// serve runs tagway's servers on store, wired as cmd/tagway wires them,
// with tr's tracing, or when tr is before, as they were before tracing; it
// returns the HTTP base URL, a gRPC client and the HTTP handler.
func serve(tb testing.TB, tr *tracing.Tracing, store tagstore.Store) (string, tagwayv1.TaggingServiceClient, http.Handler) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := tagging.New(ctx, store)
	if err != nil {
		tb.Fatal(err)
	}
	core := access.New(tr.Core(svc))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := server.Config{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Service: core, Log: log,
		Dialects:     []server.Dialect{aws.New(core, aws.Auth{Log: log})},
		Authenticate: (&grpcauth.Authenticator{}).Authenticate,
	}
	if tr != before {
		cfg.HTTPMiddleware, cfg.GRPCOptions, cfg.Route = tr.HTTP, tr.GRPCOptions(), tracing.Name
	}
	srv, err := server.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	conn, err := grpc.NewClient(srv.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn.Close()
		cancel()
		<-done
	})
	return "http://" + srv.HTTPAddr().String(), tagwayv1.NewTaggingServiceClient(conn), srv.Handler()
}

// untagRequest returns an AWS UntagResources request with traceparent tp
// (none when empty).
func untagRequest(base, arn, tp string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, base+"/", strings.NewReader(`{"ResourceARNList":["`+arn+`"],"TagKeys":["k"]}`))
	req.RemoteAddr = "127.0.0.1:1234"
	req.Header.Set("X-Amz-Target", aws.TargetPrefix+"UntagResources")
	req.Header.Set("Content-Type", aws.ContentType)
	if tp != "" {
		req.Header.Set("traceparent", tp)
	}
	return req
}

// before stands for no tracing wired at all, as before there was any.
var before = &tracing.Tracing{}

const (
	remoteTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	remoteSpan  = "00f067aa0ba902b7"
)

// TestSpans checks the span tree of a REST and a gRPC call on Redis: the
// server span continues the caller's traceparent, the core span is its
// child, and each Redis round trip is a child of the core span.
func TestSpans(t *testing.T) {
	rs := redistest.Run(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tracing.New(tp)
	store, err := redisstore.Open(context.Background(), rs.URL(), redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := tr.Redis(store.Client()); err != nil {
		t.Fatal(err)
	}
	base, client, _ := serve(t, tr, store)
	parent := "00-" + remoteTrace + "-" + remoteSpan + "-01"

	check := func(t *testing.T, serverName, coreName string) {
		t.Helper()
		// A gRPC server span ends once the answer is sent, so it may reach
		// the exporter just after the client has its answer: look again for
		// up to a second.
		var spans tracetest.SpanStubs
		var srv, core *tracetest.SpanStub
		for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
			spans, srv, core = exp.GetSpans(), nil, nil
			for i, s := range spans {
				switch s.Name {
				case serverName:
					srv = &spans[i]
				case coreName:
					core = &spans[i]
				}
			}
			if srv != nil && core != nil || time.Now().After(deadline) {
				break
			}
		}
		if srv == nil || core == nil {
			names := []string{}
			for _, s := range spans {
				names = append(names, s.Name)
			}
			t.Fatalf("no %q or %q span in %v", serverName, coreName, names)
		}
		if srv.SpanKind != trace.SpanKindServer || srv.SpanContext.TraceID().String() != remoteTrace || srv.Parent.SpanID().String() != remoteSpan || !srv.Parent.IsRemote() {
			t.Errorf("server span %q: kind %v, trace %v, parent %v; want the caller's traceparent as parent", srv.Name, srv.SpanKind, srv.SpanContext.TraceID(), srv.Parent.SpanID())
		}
		if core.Parent.SpanID() != srv.SpanContext.SpanID() {
			t.Errorf("core span's parent is %v, want the server span %v", core.Parent.SpanID(), srv.SpanContext.SpanID())
		}
		redis := 0
		for _, s := range spans {
			if s.Parent.SpanID() == core.SpanContext.SpanID() {
				redis++
				if s.SpanKind != trace.SpanKindClient {
					t.Errorf("child %q of the core span is %v, want a client span (a Redis round trip)", s.Name, s.SpanKind)
				}
				for _, a := range s.Attributes {
					if a.Key == "db.statement" || a.Key == "db.query.text" {
						t.Errorf("Redis span %q records the command: %v", s.Name, a.Value.Emit())
					}
				}
			}
		}
		if redis == 0 {
			t.Error("the core span has no Redis child spans")
		}
		exp.Reset()
	}

	t.Run("REST", func(t *testing.T) {
		req := untagRequest(base, "arn:aws:ec2:us-east-1:111111111111:instance/i-1", parent)
		req.RequestURI = ""
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("UntagResources: %d", resp.StatusCode)
		}
		check(t, "aws UntagResources", "core UntagResources")
	})
	t.Run("gRPC", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", parent)
		if _, err := client.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: []string{"arn:aws:ec2:us-east-1:111111111111:instance/i-1"}, Tags: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
		check(t, "tagway.v1.TaggingService/TagResources", "core TagResources")
	})
}

// TestOffFromEnv checks that tracing is off without an OTLP endpoint, and
// on with one.
func TestOffFromEnv(t *testing.T) {
	for _, c := range []struct {
		env map[string]string
		on  bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true},
	} {
		tr, err := tracing.FromEnv(context.Background(), func(k string) string { return c.env[k] }, "test")
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if tr.Enabled() != c.on {
			t.Errorf("%v: enabled %v, want %v", c.env, tr.Enabled(), c.on)
		}
		_ = tr.Shutdown(context.Background())
	}
	for _, env := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "zipkin"},
	} {
		if _, err := tracing.FromEnv(context.Background(), func(k string) string { return env[k] }, "test"); err == nil {
			t.Errorf("%v: no error", env)
		}
	}
}

// BenchmarkUntag measures the AWS untag path in-process (the HTTP
// handler, without the network's noise), on the memory store, as it
// was before tracing ("before": no tracing code wired), with tracing off as
// cmd/tagway wires it when no OTEL_* variable asks for it ("off"), and on,
// sampling every call into an in-memory exporter ("on"). Compare each
// with "before" from the same run.
func BenchmarkUntag(b *testing.B) {
	off, err := tracing.FromEnv(context.Background(), func(string) string { return "" }, "")
	if err != nil || off.Enabled() {
		b.Fatal("tracing is not off without OTEL_* variables", err)
	}
	on := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter())))
	for _, c := range []struct {
		name string
		tr   *tracing.Tracing
	}{{"before", before}, {"off", off}, {"on", on}} {
		b.Run(c.name, func(b *testing.B) {
			_, _, h := serve(b, c.tr, memstore.New())
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, untagRequest("", fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%d", i%100), ""))
				if w.Code != http.StatusOK {
					b.Fatalf("UntagResources: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}
