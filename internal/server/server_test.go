package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/server"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

type harness struct {
	srv    *server.Server
	cancel context.CancelFunc
	done   chan error
	conn   *grpc.ClientConn
	base   string
}

func start(t *testing.T, cfg server.Config) *harness {
	t.Helper()
	if cfg.Service == nil {
		svc, err := tagging.New(context.Background(), memstore.New())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Service = svc
	}
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{srv: srv, cancel: cancel, done: make(chan error, 1), base: "http://" + srv.HTTPAddr().String()}
	go func() { h.done <- srv.Serve(ctx) }()
	h.conn, err = grpc.NewClient(srv.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.conn.Close()
		cancel()
		<-h.done
	})
	return h
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	var storeDown atomic.Bool
	h := start(t, server.Config{
		Ready: func(context.Context) error {
			if storeDown.Load() {
				return errors.New("connection refused")
			}
			return nil
		},
		HealthInterval: 20 * time.Millisecond,
	})
	if code, body := get(t, h.base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, _ := get(t, h.base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d", code)
	}
	hc := healthpb.NewHealthClient(h.conn)
	for _, name := range []string{"", "tagway.v1.TaggingService"} {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q = %v, %v", name, resp, err)
		}
	}

	storeDown.Store(true)
	if code, body := get(t, h.base+"/readyz"); code != 503 || !strings.Contains(body, "store unreachable") || strings.Contains(body, "refused") {
		t.Fatalf("/readyz with the store down = %d %q", code, body)
	}
	if code, _ := get(t, h.base+"/healthz"); code != 200 {
		t.Fatal("liveness followed the store")
	}
	waitHealth(t, hc, healthpb.HealthCheckResponse_NOT_SERVING)
	storeDown.Store(false)
	waitHealth(t, hc, healthpb.HealthCheckResponse_SERVING)
}

func waitHealth(t *testing.T, hc healthpb.HealthClient, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "tagway.v1.TaggingService"})
		if err == nil && resp.GetStatus() == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health = %v, %v; want %v", resp, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReflectionAndCoreService(t *testing.T) {
	h := start(t, server.Config{})
	stream, err := reflectionpb.NewServerReflectionClient(h.conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"tagway.v1.TaggingService", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Fatalf("reflection lists %v, missing %s", names, want)
		}
	}
	c := tagwayv1.NewTaggingServiceClient(h.conn)
	if _, err := c.TagResources(context.Background(), &tagwayv1.TagResourcesRequest{Resources: []string{"arn:aws:s3:::bkt"}, Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
}

// TestGracefulStop checks the stop sequence: readiness drops at once,
// in-flight calls finish, then Serve returns nil.
func TestGracefulStop(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	h := start(t, server.Config{
		DrainDelay: 300 * time.Millisecond,
		Dialects: []server.Dialect{dialect{func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				close(entered)
				<-release
			}
			io.WriteString(w, "done")
		}}},
	})
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(h.base + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	<-entered
	h.cancel()
	time.Sleep(50 * time.Millisecond)
	if code, _ := get(t, h.base+"/readyz"); code != 503 {
		t.Fatalf("/readyz while draining = %d", code)
	}
	close(release)
	if got := <-slow; got != "done" {
		t.Fatalf("in-flight call got %q", got)
	}
	select {
	case err := <-h.done:
		h.done <- err
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestMetrics(t *testing.T) {
	h := start(t, server.Config{Dialects: []server.Dialect{dialect{func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}}}})
	get(t, h.base+"/a")
	c := tagwayv1.NewTaggingServiceClient(h.conn)
	c.TagResources(context.Background(), &tagwayv1.TagResourcesRequest{Resources: []string{"arn:aws:s3:::bkt"}, Tags: map[string]string{"k": "v"}})
	c.TagResources(context.Background(), &tagwayv1.TagResourcesRequest{})
	code, body := get(t, h.base+"/metrics")
	for _, want := range []string{
		`tagway_request_duration_seconds_count{code="418",operation="a",surface="test"} 1`,
		`tagway_request_duration_seconds_count{code="OK",operation="/tagway.v1.TaggingService/TagResources",surface="grpc"} 1`,
		`tagway_request_duration_seconds_count{code="InvalidArgument",operation="/tagway.v1.TaggingService/TagResources",surface="grpc"} 1`,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="TagResources",grpc_service="tagway.v1.TaggingService",grpc_type="unary"} 1`,
		`grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="TagResources",grpc_service="tagway.v1.TaggingService",grpc_type="unary"} 1`,
		"tagway_store_ready 1",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %s:\n%s", code, want, body)
		}
	}
}

// slowService blocks GetResourceTags until release is closed.
type slowService struct {
	tagwayv1.TaggingServiceServer
	entered, release chan struct{}
}

func (s slowService) GetResourceTags(ctx context.Context, req *tagwayv1.GetResourceTagsRequest) (*tagwayv1.GetResourceTagsResponse, error) {
	close(s.entered)
	<-s.release
	return s.TaggingServiceServer.GetResourceTags(ctx, req)
}

// TestStopFinishesGRPCCalls checks that a unary call under way when
// shutdown begins gets its answer.
func TestStopFinishesGRPCCalls(t *testing.T) {
	svc, err := tagging.New(context.Background(), memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	slow := slowService{svc, make(chan struct{}), make(chan struct{})}
	h := start(t, server.Config{Service: slow})
	result := make(chan error, 1)
	go func() {
		_, err := tagwayv1.NewTaggingServiceClient(h.conn).GetResourceTags(context.Background(), &tagwayv1.GetResourceTagsRequest{Resources: []string{"arn:aws:s3:::bkt"}})
		result <- err
	}()
	<-slow.entered
	h.cancel()
	time.Sleep(300 * time.Millisecond) // well past the flush grace: the call must still be waited for
	close(slow.release)
	if err := <-result; err != nil {
		t.Fatalf("in-flight call: %v", err)
	}
}

// TestStopWithHealthWatch checks that an open health Watch stream, which
// never ends by itself, does not hold shutdown until its deadline.
func TestStopWithHealthWatch(t *testing.T) {
	h := start(t, server.Config{ShutdownTimeout: 8 * time.Second})
	stream, err := healthpb.NewHealthClient(h.conn).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h.cancel()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.done <- nil
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("shutdown took %v with a Watch open", d)
	}
}

func TestPanicBecomes500(t *testing.T) {
	h := start(t, server.Config{Dialects: []server.Dialect{dialect{func(http.ResponseWriter, *http.Request) { panic("boom") }}}})
	if code, _ := get(t, h.base+"/x"); code != 500 {
		t.Fatalf("panicking handler = %d", code)
	}
	if code, _ := get(t, h.base+"/healthz"); code != 200 {
		t.Fatal("server did not survive the panic")
	}
}

// dialect claims every request under /a or /slow or /x and serves it with f.
type dialect struct{ f http.HandlerFunc }

func (d dialect) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.f(w, r) }
func (d dialect) Name() string                                     { return "test" }
func (d dialect) Busy(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusTooManyRequests)
	io.WriteString(w, "busy")
}
func (d dialect) Operation(r *http.Request) string { return strings.TrimPrefix(r.URL.Path, "/") }
func (d dialect) Claims(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/a") || r.URL.Path == "/slow" || r.URL.Path == "/x"
}

func TestDialectRouting(t *testing.T) {
	h := start(t, server.Config{Dialects: []server.Dialect{
		dialect{func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "first") }},
		dialect{func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "second") }},
	}})
	if code, body := get(t, h.base+"/a/b"); code != 200 || body != "first" {
		t.Fatalf("/a/b = %d %q", code, body)
	}
	if code, _ := get(t, h.base+"/nope"); code != 404 {
		t.Fatalf("unclaimed path = %d", code)
	}
	if code, body := get(t, h.base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	// Paths reach the dialect as sent: no redirect for "//" or "..".
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/a//b", "/a/./b", "/a/../a"} {
		resp, err := client.Get(h.base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "first" {
			t.Fatalf("%s = %d %q", path, resp.StatusCode, b)
		}
	}
}
