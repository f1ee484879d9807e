// Package accesslog writes one log line per request, on every surface: the
// surface, operation, principal, status, duration, request id and trace id,
// and never a credential, header value or request body.
package accesslog

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/felixge/httpsnoop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tagway/tagway/internal/callinfo"
	"github.com/tagway/tagway/internal/identity"
)

// Message is the message of every access log line.
const Message = "request"

// Logger writes the access log. A nil Logger writes nothing and passes
// every request through untouched.
type Logger struct {
	log   *slog.Logger
	level slog.Level
}

// New returns a Logger writing to log at level; probes (/healthz, /readyz,
// /metrics, gRPC health checks) are written at Debug, below it.
func New(log *slog.Logger, level slog.Level) *Logger {
	return &Logger{log: log, level: level}
}

// ParseLevel reads an --access-log value: info, debug or off (nil Logger).
func ParseLevel(s string) (level slog.Level, on bool, ok bool) {
	switch s {
	case "info":
		return slog.LevelInfo, true, true
	case "debug":
		return slog.LevelDebug, true, true
	case "off":
		return 0, false, true
	}
	return 0, false, false
}

// entry is what a request's line says beyond what the transport knows.
type entry struct {
	surface, operation, principal string
}

type entryKey struct{}

// start returns the context of a request whose line e will describe.
func start(ctx context.Context, e *entry) context.Context {
	ctx = context.WithValue(ctx, entryKey{}, e)
	return identity.WithObserver(ctx, func(c identity.Caller) { e.principal = c.Name() })
}

// Route records the surface and operation of a request (each from a fixed
// set) for its line, when the request is being logged.
func Route(ctx context.Context, surface, operation string) {
	if e, ok := ctx.Value(entryKey{}).(*entry); ok {
		e.surface, e.operation = surface, operation
	}
}

// Probe reports whether an HTTP path is a probe's or a scraper's: logged
// at debug level, and never traced (package tracing).
func Probe(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// HealthCheck reports whether a gRPC method is the health service's, which
// probes call: like Probe, for gRPC.
func HealthCheck(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/")
}

// traceID returns the trace of ctx: its span's (tracing on), or else the
// one a W3C traceparent in carrier names, so that lines can be matched to
// the caller's trace even with tracing off.
func traceID(ctx context.Context, carrier propagation.TextMapCarrier) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() && carrier.Get("traceparent") != "" {
		sc = trace.SpanContextFromContext(propagation.TraceContext{}.Extract(ctx, carrier))
	}
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// write writes one line.
func (l *Logger) write(ctx context.Context, level slog.Level, e *entry, code string, d time.Duration, requestID, trace, peer string, extra ...slog.Attr) {
	principal := e.principal
	if principal == "" {
		principal = "-" // not authenticated (yet): a probe, or refused before
	}
	attrs := append([]slog.Attr{
		slog.String("surface", e.surface),
		slog.String("operation", e.operation),
		slog.String("principal", principal),
		slog.String("status", code),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("request_id", requestID),
		slog.String("trace_id", trace),
		slog.String("peer", peer),
	}, extra...)
	l.log.LogAttrs(ctx, level, Message, attrs...)
}

// HTTP returns next with a line per request. The request id is the one the
// dialect answered with (x-amzn-RequestId, X-Request-Id).
func (l *Logger) HTTP(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		level := l.level
		if Probe(r.URL.Path) {
			level = slog.LevelDebug
		}
		if !l.log.Enabled(r.Context(), level) {
			next.ServeHTTP(w, r)
			return
		}
		begin := time.Now()
		e := &entry{surface: "http", operation: r.Method}
		code := http.StatusOK
		wrote := false
		w = httpsnoop.Wrap(w, httpsnoop.Hooks{WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(c int) {
				if !wrote {
					code, wrote = c, true
				}
				next(c)
			}
		}})
		next.ServeHTTP(w, r.WithContext(start(r.Context(), e)))
		var extra []slog.Attr
		if e.surface == "http" {
			extra = append(extra, slog.String("path", r.URL.Path)) // not the query: it may hold a presigned signature
		}
		id := w.Header().Get("x-amzn-RequestId")
		if id == "" {
			id = w.Header().Get("X-Request-Id")
		}
		l.write(r.Context(), level, e, strconv.Itoa(code), time.Since(begin), id,
			traceID(r.Context(), propagation.HeaderCarrier(r.Header)), r.RemoteAddr, extra...)
	})
}

// GRPCOptions returns the server options that log each gRPC call, as the
// outermost interceptors, so that calls refused by authentication are
// logged too. Each call gets a request id, the caller's x-request-id when
// it is a plain token of at most 64 characters and a random one
// otherwise, and is told it in the x-request-id response header.
func (l *Logger) GRPCOptions() []grpc.ServerOption {
	if l == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.UnaryInterceptor(l.unary), grpc.StreamInterceptor(l.stream)}
}

func (l *Logger) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	done, ctx := l.grpcCall(ctx, info.FullMethod)
	if done == nil {
		return handler(ctx, req)
	}
	resp, err := handler(ctx, req)
	done(err)
	return resp, err
}

func (l *Logger) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	done, ctx := l.grpcCall(ss.Context(), info.FullMethod)
	if done == nil {
		return handler(srv, ss)
	}
	err := handler(srv, &stream{ServerStream: ss, ctx: ctx})
	done(err)
	return err
}

// stream is a server stream whose handler sees another context.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// grpcCall starts the line of a gRPC call: it returns the function that
// writes it once the call is done, and the context the call runs in, or a
// nil function when the line's level is off.
func (l *Logger) grpcCall(ctx context.Context, method string) (func(error), context.Context) {
	level := l.level
	if HealthCheck(method) {
		level = slog.LevelDebug
	}
	if !l.log.Enabled(ctx, level) {
		return nil, ctx
	}
	begin := time.Now()
	ctx, id := callinfo.WithRequestID(ctx)
	e := &entry{surface: identity.SurfaceGRPC, operation: method}
	peerAddr := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		peerAddr = p.Addr.String()
	}
	return func(err error) {
		l.write(ctx, level, e, status.Code(err).String(), time.Since(begin), id, traceID(ctx, incoming{ctx}), peerAddr)
	}, start(ctx, e)
}

// incoming reads propagation headers from a call's gRPC metadata when
// asked (a W3C propagator only Gets traceparent, and only when the call
// has no span), rather than copying the metadata for every call.
type incoming struct{ ctx context.Context }

func (c incoming) Get(key string) string {
	if v := metadata.ValueFromIncomingContext(c.ctx, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (incoming) Set(string, string) {}

func (incoming) Keys() []string { return nil }
