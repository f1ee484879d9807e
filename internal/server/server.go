// Package server runs tagway's two listeners, gRPC (the core service,
// grpc.health.v1 and reflection) and HTTP (liveness, readiness and the REST
// dialects), and stops them gracefully.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // gzip-compressed calls and replies, as clients ask
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"golang.org/x/net/netutil"
	"golang.org/x/sync/semaphore"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/listen"
	"github.com/tagway/tagway/internal/metrics"
	"github.com/tagway/tagway/internal/openapi"
)

// Config describes the servers.
type Config struct {
	GRPCAddr string
	HTTPAddr string
	// Service is the core service served over gRPC.
	Service tagwayv1.TaggingServiceServer
	// Ready reports whether the store is reachable. It should answer at
	// once, from a probe kept up to date elsewhere (storehealth.Prober):
	// /readyz and the gRPC health status follow it.
	Ready func(context.Context) error
	// Metrics, when set, is the registry /metrics serves, so that others
	// can add to it; New makes one otherwise.
	Metrics *metrics.Registry
	// Dialects serve the REST APIs: each request but /healthz, /readyz,
	// /metrics and /openapi/<dialect>.json goes to the first dialect that claims it; one no dialect
	// claims gets a 404.
	Dialects []Dialect
	// DrainDelay is how long to keep serving, reporting not ready, after
	// shutdown begins, so that load balancers stop sending traffic first.
	DrainDelay time.Duration
	// ShutdownTimeout bounds how long in-flight calls may take to finish.
	ShutdownTimeout time.Duration
	// Settle is how long, after DrainDelay, the listeners stay open while
	// every HTTP response asks its client to close its connection, so that
	// no request already sent on a keep-alive connection meets a closed
	// one; 0 means none.
	Settle time.Duration
	// HealthInterval is how often the gRPC health status follows Ready
	// (100 ms by default).
	HealthInterval time.Duration
	// Authenticate decides who makes each gRPC call but those of health and
	// reflection, which stay open to probes and tools: it returns the
	// context the call runs in, or the error to answer. Nil lets every
	// call through unauthenticated.
	Authenticate func(context.Context) (context.Context, error)
	// GRPCTLS and HTTPTLS, when set, serve each listener over TLS.
	GRPCTLS, HTTPTLS *tls.Config
	Log              *slog.Logger
	// Limits bound what clients may make the server hold; zero fields
	// take DefaultLimits.
	Limits Limits
	// HTTPMiddleware, when set, wraps the whole HTTP handler (tracing, the
	// access log).
	HTTPMiddleware func(http.Handler) http.Handler
	// Route, when set, is told the surface and operation of each request a
	// dialect claims, before the dialect serves it.
	Route func(ctx context.Context, surface, operation string)
	// GRPCOptions are added to the gRPC server's own (stats handlers, an
	// outermost interceptor).
	GRPCOptions []grpc.ServerOption
}

// Limits bound the connections, streams, metadata and request bodies the
// server holds at once, so that its memory stays bounded whatever clients
// send.
type Limits struct {
	// HTTPConns bounds open HTTP connections; more wait to be accepted.
	HTTPConns int
	// BodyBytes bounds one request body (the largest dialect's).
	BodyBytes int64
	// InflightBodyBytes bounds the bodies being read or served at once,
	// counted at five times their declared length (BodyBytes when
	// undeclared), for the copies decoding makes. A request that cannot get
	// its share within BodyTimeout is refused as busy, in its dialect's
	// words.
	InflightBodyBytes int64
	// BodyTimeout bounds how long a request body may take to arrive.
	BodyTimeout time.Duration
	// GRPCStreams bounds concurrent calls on one gRPC connection.
	GRPCStreams uint32
	// GRPCHeaderBytes bounds the metadata of one gRPC call.
	GRPCHeaderBytes uint32
	// GRPCIdle closes a gRPC connection without calls for this long.
	GRPCIdle time.Duration
}

// DefaultLimits are the limits of a zero Limits field.
var DefaultLimits = Limits{
	HTTPConns:         4096,
	BodyBytes:         4 << 20,
	InflightBodyBytes: 64 << 20,
	BodyTimeout:       10 * time.Second,
	GRPCStreams:       256,
	GRPCHeaderBytes:   32 << 10,
	GRPCIdle:          5 * time.Minute,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.HTTPConns > 0 {
		d.HTTPConns = l.HTTPConns
	}
	if l.BodyBytes > 0 {
		d.BodyBytes = l.BodyBytes
	}
	if l.InflightBodyBytes > 0 {
		d.InflightBodyBytes = l.InflightBodyBytes
	}
	if l.BodyTimeout > 0 {
		d.BodyTimeout = l.BodyTimeout
	}
	if l.GRPCStreams > 0 {
		d.GRPCStreams = l.GRPCStreams
	}
	if l.GRPCHeaderBytes > 0 {
		d.GRPCHeaderBytes = l.GRPCHeaderBytes
	}
	if l.GRPCIdle > 0 {
		d.GRPCIdle = l.GRPCIdle
	}
	d.InflightBodyBytes = max(d.InflightBodyBytes, d.BodyBytes)
	return d
}

// Dialect is a REST API served on the HTTP port.
type Dialect interface {
	http.Handler
	// Claims reports whether the request is in this dialect.
	Claims(*http.Request) bool
	// Name names the dialect in metrics.
	Name() string
	// Operation names the operation of a claimed request, from a fixed set
	// ("unknown" for none), for metrics.
	Operation(*http.Request) string
	// Busy answers a claimed request the server cannot take now (too many
	// request bytes in flight) with the dialect's retryable error.
	Busy(http.ResponseWriter, *http.Request)
}

// Server holds the listeners.
type Server struct {
	cfg      Config
	grpcLis  net.Listener
	httpLis  net.Listener
	grpc     *grpc.Server
	http     *http.Server
	health   *health.Server
	draining atomic.Bool
	// healthStatus is the status last given to health, once healthSet.
	healthStatus atomic.Int32
	healthSet    atomic.Bool
	// calls counts gRPC calls under way: shutdown waits for them, but not
	// for health Watch streams, which never end by themselves.
	calls   callCounter
	metrics *metrics.Registry
	limits  Limits
	bodies  *semaphore.Weighted
	// closing makes every HTTP response ask its client to close the
	// connection, once shutdown has begun.
	closing atomic.Bool
}

// healthServices are the names grpc.health.v1 answers for.
var healthServices = []string{"", tagwayv1.TaggingService_ServiceDesc.ServiceName}

// New binds both listeners, so that the addresses are known before Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 8 * time.Second
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = 100 * time.Millisecond
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	limits := cfg.Limits.withDefaults()
	s := &Server{cfg: cfg, metrics: cfg.Metrics, limits: limits, bodies: semaphore.NewWeighted(limits.InflightBodyBytes)}
	var err error
	if s.grpcLis, err = listen.Listen(cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("gRPC listener: %w", err)
	}
	if s.httpLis, err = listen.Listen(cfg.HTTPAddr); err != nil {
		s.grpcLis.Close()
		return nil, fmt.Errorf("HTTP listener: %w", err)
	}
	s.httpLis = netutil.LimitListener(s.httpLis, limits.HTTPConns)

	codec := newUTF8Codec()
	opts := []grpc.ServerOption{
		grpc.StatsHandler(&s.calls),
		grpc.ForceServerCodecV2(&sharedChangesCodec{CodecV2: codec}),
		grpc.ChainUnaryInterceptor(s.metrics.GRPCUnary(), s.observeUnary, codec.unary, s.recoverUnary, s.authUnary),
		grpc.ChainStreamInterceptor(s.metrics.GRPCStream(), codec.stream, s.authStream),
		grpc.MaxConcurrentStreams(limits.GRPCStreams),
		grpc.MaxHeaderListSize(limits.GRPCHeaderBytes),
		// Clients may ping every 10 s at most, even without calls (a
		// client pinging more often is sent GOAWAY); the server pings an
		// idle connection every minute and drops it if unanswered in 20 s,
		// and closes one without calls for GRPCIdle.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: limits.GRPCIdle, Time: time.Minute, Timeout: 20 * time.Second}),
	}
	if cfg.GRPCTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.GRPCTLS)))
	}
	s.grpc = grpc.NewServer(append(opts, cfg.GRPCOptions...)...)
	tagwayv1.RegisterTaggingServiceServer(s.grpc, cfg.Service)
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.metrics.InitGRPC(s.grpc)

	// No http.ServeMux here: it answers paths with "//" or "." segments with
	// a redirect, which the Huawei SDK takes for success (an empty
	// resource_id makes such a path). Each dialect sees the path as sent.
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			plain(w, http.StatusOK, "ok")
			return
		case r.URL.Path == "/readyz" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			s.readyz(w, r)
			return
		case r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			s.metrics.Handler().ServeHTTP(w, r)
			return
		}
		if openapi.Handler(w, r) {
			return
		}
		for _, d := range cfg.Dialects {
			if d.Claims(r) {
				start := time.Now()
				op := d.Operation(r)
				if cfg.Route != nil {
					cfg.Route(r.Context(), d.Name(), op)
				}
				sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
				s.serveDialect(d, sw, r)
				s.metrics.Observe(d.Name(), op, strconv.Itoa(sw.code), time.Since(start))
				return
			}
		}
		plain(w, http.StatusNotFound, "404 page not found: "+r.URL.Path)
	})
	handler := s.recoverHTTP(s.closeWhenDraining(routes))
	if cfg.HTTPMiddleware != nil {
		handler = cfg.HTTPMiddleware(handler)
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}
	if cfg.HTTPTLS != nil {
		s.httpLis = tls.NewListener(s.httpLis, cfg.HTTPTLS)
	}
	return s, nil
}

// GRPCAddr returns the address the gRPC listener is bound to.
func (s *Server) GRPCAddr() net.Addr { return s.grpcLis.Addr() }

// Handler returns the handler of the HTTP listener, to serve requests
// in-process (benchmarks).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// HTTPAddr returns the address the HTTP listener is bound to.
func (s *Server) HTTPAddr() net.Addr { return s.httpLis.Addr() }

// Serve serves until ctx is done, then drains and stops both servers. It
// returns nil after a clean stop.
func (s *Server) Serve(ctx context.Context) error {
	s.setHealth(ctx)
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(s.grpcLis) }()
	go func() {
		if err := s.http.Serve(s.httpLis); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		t := time.NewTicker(s.cfg.HealthInterval)
		defer t.Stop()
		for {
			select {
			case <-watchCtx.Done():
				return
			case <-t.C:
				s.setHealth(watchCtx)
			}
		}
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stopWatch()
	<-watchDone
	s.shutdown()
	return serveErr
}

func (s *Server) shutdown() {
	log := s.cfg.Log
	s.draining.Store(true)
	s.closing.Store(true)
	s.health.Shutdown()
	if d := s.cfg.DrainDelay; d > 0 {
		log.Info("draining: reporting not ready", "delay", d)
		time.Sleep(d)
	}
	// Every HTTP response now asks its client to close the connection.
	// Keep accepting and serving a moment longer, so that keep-alive
	// clients hear it and requests already on their way are answered,
	// before the listeners close.
	time.Sleep(s.cfg.Settle)
	log.Info("stopping: waiting for in-flight calls", "timeout", s.cfg.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	if err := s.http.Shutdown(ctx); err != nil {
		log.Warn("HTTP calls still running at the deadline; closing them", "error", err)
		s.http.Close()
	}
	// GracefulStop also waits for streams, and a health Watch never ends:
	// once no other call is under way, give replies a moment to flush, then
	// stop.
	if s.waitIdle(ctx) {
		select {
		case <-stopped:
		case <-time.After(250 * time.Millisecond):
		}
	} else {
		log.Warn("gRPC calls still running at the deadline; cancelling them")
	}
	s.grpc.Stop()
	<-stopped
	// Stop does not wait for handlers: let cancelled ones end before the
	// caller closes the store under them.
	idle, cancelIdle := context.WithTimeout(context.Background(), time.Second)
	defer cancelIdle()
	s.waitIdle(idle)
}

// waitIdle waits until no counted call is under way, or ctx ends; it
// reports which.
func (s *Server) waitIdle(ctx context.Context) bool {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for s.calls.n.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// observeUnary records every gRPC call in the metrics.
func (s *Server) observeUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	s.metrics.Observe("grpc", info.FullMethod, status.Code(err).String(), time.Since(start))
	return resp, err
}

// open reports whether a gRPC method is open to every caller: health checks
// and reflection, which probes and tools use without credentials.
func open(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") || strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// authUnary authenticates a unary call.
func (s *Server) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if s.cfg.Authenticate == nil || open(info.FullMethod) {
		return handler(ctx, req)
	}
	ctx, err := s.cfg.Authenticate(ctx)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// authStream authenticates a streaming call.
func (s *Server) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if s.cfg.Authenticate == nil || open(info.FullMethod) {
		return handler(srv, ss)
	}
	ctx, err := s.cfg.Authenticate(ss.Context())
	if err != nil {
		return err
	}
	return handler(srv, &streamWithContext{ServerStream: ss, ctx: ctx})
}

// streamWithContext is a stream whose handler sees another context.
type streamWithContext struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *streamWithContext) Context() context.Context { return s.ctx }

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// callCounter is a gRPC stats handler counting calls from their first
// byte, before their request has arrived, to their last; health Watch
// streams are left out.
type callCounter struct{ n atomic.Int64 }

type countedKey struct{}

func (c *callCounter) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if info.FullMethodName == healthpb.Health_Watch_FullMethodName || info.FullMethodName == tagwayv1.TaggingService_WatchTagChanges_FullMethodName {
		return ctx
	}
	return context.WithValue(ctx, countedKey{}, true)
}

func (c *callCounter) HandleRPC(ctx context.Context, st stats.RPCStats) {
	if ctx.Value(countedKey{}) == nil {
		return
	}
	switch st.(type) {
	case *stats.Begin:
		c.n.Add(1)
	case *stats.End:
		c.n.Add(-1)
	}
}

func (c *callCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (c *callCounter) HandleConn(context.Context, stats.ConnStats) {}

// setHealth makes the gRPC health status follow the store's readiness.
func (s *Server) setHealth(ctx context.Context) {
	st := healthpb.HealthCheckResponse_SERVING
	if err := s.ready(ctx); err != nil {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	s.metrics.SetReady(st == healthpb.HealthCheckResponse_SERVING)
	if s.healthSet.Load() && healthpb.HealthCheckResponse_ServingStatus(s.healthStatus.Load()) == st {
		return // unchanged: Watch streams hear of changes only
	}
	s.healthStatus.Store(int32(st))
	s.healthSet.Store(true)
	for _, name := range healthServices {
		s.health.SetServingStatus(name, st)
	}
}

func (s *Server) ready(ctx context.Context) error {
	if s.draining.Load() {
		return errors.New("shutting down")
	}
	if s.cfg.Ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.cfg.Ready(ctx); err != nil {
		return errors.New("store unreachable")
	}
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.ready(r.Context()); err != nil {
		plain(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
		return
	}
	plain(w, http.StatusOK, "ok")
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// recoverUnary turns a panic in a handler into an Internal error instead of
// a crashed process.
func (s *Server) recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.cfg.Log.Error("panic in gRPC handler", "method", info.FullMethod, "panic", p, "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	return handler(ctx, req)
}

// recoverHTTP turns a panic in a handler into a 500 instead of a dropped
// connection.
func (s *Server) recoverHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.cfg.Log.Error("panic in HTTP handler", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				plain(w, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}
