package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/principals"
)

// secrets are credentials a request may carry; none may reach the log.
var secrets = []string{"AKIDSECRETKEYID", "c0ffee5ignature", "session-token-value", "bearer-token-value", "presigned-sig"}

// lines parses the JSON lines written to b.
func lines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

func newLogger(b *bytes.Buffer, level slog.Level) *Logger {
	return New(slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: level})), slog.LevelInfo)
}

func TestHTTPLine(t *testing.T) {
	var b bytes.Buffer
	h := newLogger(&b, slog.LevelInfo).HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Route(r.Context(), "aws", "UntagResources")
		identity.NewContext(r.Context(), identity.Caller{Principal: &principals.Principal{Name: "team-a"}})
		w.Header().Set("x-amzn-RequestId", "req-1")
		w.WriteHeader(http.StatusBadRequest)
		w.WriteHeader(http.StatusOK) // ignored by net/http; the first one counts
	}))
	r := httptest.NewRequest(http.MethodPost, "/?X-Amz-Signature=presigned-sig", strings.NewReader(`{}`))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSECRETKEYID/20260101/us-east-1/tagging/aws4_request, SignedHeaders=host, Signature=c0ffee5ignature")
	r.Header.Set("X-Amz-Security-Token", "session-token-value")
	r.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), r)
	// A probe is written at Debug, which this logger leaves out.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))

	got := lines(t, &b)
	if len(got) != 1 {
		t.Fatalf("%d lines, want 1 (no probe at info):\n%s", len(got), b.String())
	}
	want := map[string]any{
		"msg": Message, "surface": "aws", "operation": "UntagResources", "principal": "team-a", "status": "400",
		"request_id": "req-1", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "peer": "192.0.2.1:1234",
	}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %v, want %v", k, got[0][k], v)
		}
	}
	if _, ok := got[0]["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms = %v", got[0]["duration_ms"])
	}
	for _, s := range secrets {
		if strings.Contains(b.String(), s) {
			t.Errorf("the log holds %q:\n%s", s, b.String())
		}
	}
}

func TestHTTPOffAndDebug(t *testing.T) {
	var b bytes.Buffer
	var off *Logger
	called := false
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })
	off.HTTP(h).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	if !called {
		t.Fatal("an off access log does not pass requests through")
	}
	newLogger(&b, slog.LevelDebug).HTTP(h).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/readyz", nil))
	got := lines(t, &b)
	if len(got) != 1 || got[0]["level"] != "DEBUG" || got[0]["surface"] != "http" || got[0]["path"] != "/readyz" || got[0]["principal"] != "-" {
		t.Fatalf("probe line = %v", got)
	}
	for _, c := range []struct {
		in     string
		on, ok bool
	}{{"info", true, true}, {"debug", true, true}, {"off", false, true}, {"loud", false, false}} {
		if _, on, ok := ParseLevel(c.in); on != c.on || ok != c.ok {
			t.Errorf("ParseLevel(%q) = %v %v", c.in, on, ok)
		}
	}
}

// transportStream lets grpc.SetHeader work outside a real server.
type transportStream struct {
	grpc.ServerTransportStream
	header metadata.MD
}

func (s *transportStream) SetHeader(md metadata.MD) error {
	s.header = metadata.Join(s.header, md)
	return nil
}

func TestGRPCLine(t *testing.T) {
	var b bytes.Buffer
	l := newLogger(&b, slog.LevelInfo)
	call := func(id string, err error) *transportStream {
		ts := &transportStream{}
		ctx := grpc.NewContextWithServerTransportStream(context.Background(), ts)
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer bearer-token-value", "x-request-id", id,
			"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
		_, _ = l.unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/tagway.v1.TaggingService/TagResources"},
			func(ctx context.Context, _ any) (any, error) {
				identity.NewContext(ctx, identity.Caller{Principal: &principals.Principal{Name: "ops"}})
				return nil, err
			})
		return ts
	}
	ts := call("caller-id-1", status.Error(codes.PermissionDenied, "no"))
	call("not a token\n", nil)
	got := lines(t, &b)
	if len(got) != 2 {
		t.Fatalf("%d lines:\n%s", len(got), b.String())
	}
	for k, v := range map[string]any{"surface": "grpc", "operation": "/tagway.v1.TaggingService/TagResources", "principal": "ops", "status": "PermissionDenied", "request_id": "caller-id-1", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"} {
		if got[0][k] != v {
			t.Errorf("%s = %v, want %v", k, got[0][k], v)
		}
	}
	if h := ts.header.Get("x-request-id"); len(h) != 1 || h[0] != "caller-id-1" {
		t.Errorf("x-request-id header = %v", h)
	}
	if id, _ := got[1]["request_id"].(string); len(id) != 32 || got[1]["status"] != "OK" {
		t.Errorf("a bad caller id was not replaced: %v", got[1])
	}
	if strings.Contains(b.String(), "bearer-token-value") {
		t.Errorf("the log holds the bearer token:\n%s", b.String())
	}
	// Streams are logged the same way.
	err := l.stream(nil, &fakeStream{ctx: context.Background()}, &grpc.StreamServerInfo{FullMethod: "/s/W"}, func(any, grpc.ServerStream) error { return errors.New("x") })
	if err == nil || !strings.Contains(b.String(), `"operation":"/s/W","principal":"-","status":"Unknown"`) {
		t.Errorf("stream line missing: %v\n%s", err, b.String())
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f *fakeStream) Context() context.Context { return f.ctx }
