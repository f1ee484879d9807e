// Command tagway runs the tagway gateway: the core tagging service over
// gRPC, the REST tagging dialects over HTTP, and one tag store behind both.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tagway/tagway/internal/access"
	"github.com/tagway/tagway/internal/accesslog"
	"github.com/tagway/tagway/internal/audit"
	"github.com/tagway/tagway/internal/debugserver"
	"github.com/tagway/tagway/internal/dialect/aws"
	"github.com/tagway/tagway/internal/dialect/huawei"
	"github.com/tagway/tagway/internal/feedhttp"
	"github.com/tagway/tagway/internal/filewatch"
	"github.com/tagway/tagway/internal/grpcauth"
	"github.com/tagway/tagway/internal/metrics"
	"github.com/tagway/tagway/internal/policy"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/quota"
	"github.com/tagway/tagway/internal/server"
	"github.com/tagway/tagway/internal/storehealth"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
	"github.com/tagway/tagway/internal/tlsfiles"
	"github.com/tagway/tagway/internal/tracing"
	"github.com/tagway/tagway/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, stop, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// config is what the flags set.
type config struct {
	httpAddr, grpcAddr, store   string
	storeFile                   string
	storeTimeout                time.Duration
	drainDelay, shutdownTimeout time.Duration
	tokenTTL                    time.Duration
	logLevel                    slog.Level
	logFormat                   string
	accessLog                   string
	debugAddr                   string
	debugAllowRemote            bool
	version                     bool

	bodyTimeout      time.Duration
	maxInflightBytes int64
	maxConns         int

	feedRetention time.Duration
	auditLog      string

	authFile                     string
	policyFile                   string
	rateLimits                   string
	maxInflightCalls             int
	allowRemote                  bool
	awsMaxSkew, huaweiMaxSkew    time.Duration
	tlsCert, tlsKey, tlsClientCA string
}

// reloadInterval is how often the auth file and the TLS files are checked
// for changes on disk.
const reloadInterval = 2 * time.Second

// flagSet defines the flags; every flag can also be set by the environment
// variable named in its usage.
func flagSet(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("tagway", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.httpAddr, "http-addr", ":8080", "HTTP listen address, host:port or unix:///path/to.sock: /healthz, /readyz, /metrics, /openapi/ and the REST dialects [TAGWAY_HTTP_ADDR]")
	fs.StringVar(&c.grpcAddr, "grpc-addr", ":9090", "gRPC listen address, host:port or unix:///path/to.sock: the core service, health and reflection [TAGWAY_GRPC_ADDR]")
	fs.StringVar(&c.store, "store", "memory", "tag store: memory, or a Redis URL (redis://, rediss://, redis+sentinel://, redis+cluster://) [TAGWAY_STORE]")
	fs.StringVar(&c.storeFile, "store-file", "", "read the --store URL from this file, so that no password is on the command line [TAGWAY_STORE_FILE]")
	fs.DurationVar(&c.storeTimeout, "store-timeout", time.Second, "the longest the store work of one call may take: the call then fails, and a change not applied by then never is [TAGWAY_STORE_TIMEOUT]")
	fs.DurationVar(&c.drainDelay, "drain-delay", 0, "on SIGTERM, keep serving this long while reporting not ready [TAGWAY_DRAIN_DELAY]")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 8*time.Second, "on SIGTERM, wait this long for in-flight calls [TAGWAY_SHUTDOWN_TIMEOUT]")
	fs.DurationVar(&c.tokenTTL, "page-token-ttl", tagging.DefaultTokenTTL, "how long page tokens stay valid [TAGWAY_PAGE_TOKEN_TTL]")
	fs.DurationVar(&c.bodyTimeout, "http-body-timeout", server.DefaultLimits.BodyTimeout, "how long an HTTP request body may take to arrive [TAGWAY_HTTP_BODY_TIMEOUT]")
	fs.Int64Var(&c.maxInflightBytes, "http-max-inflight-bytes", server.DefaultLimits.InflightBodyBytes, "the most HTTP request body bytes held at once; more wait, then are refused as busy [TAGWAY_HTTP_MAX_INFLIGHT_BYTES]")
	fs.IntVar(&c.maxConns, "http-max-conns", server.DefaultLimits.HTTPConns, "the most open HTTP connections [TAGWAY_HTTP_MAX_CONNS]")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error [TAGWAY_LOG_LEVEL]")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json [TAGWAY_LOG_FORMAT]")
	fs.StringVar(&c.accessLog, "access-log", "info", "the level of the line logged per request: info, debug or off (probes are always debug) [TAGWAY_ACCESS_LOG]")
	fs.StringVar(&c.debugAddr, "debug-addr", "", "serve net/http/pprof on this loopback address or unix:// socket; off when empty [TAGWAY_DEBUG_ADDR]")
	fs.BoolVar(&c.debugAllowRemote, "debug-allow-remote", false, "let --debug-addr be an address other machines can reach [TAGWAY_DEBUG_ALLOW_REMOTE]")
	fs.BoolVar(&c.version, "version", false, "print the version, commit and Go version, and exit [TAGWAY_VERSION]")
	fs.DurationVar(&c.feedRetention, "feed-retention", 24*time.Hour, "how long the change feed (WatchTagChanges, GET /v1/tag-changes) and the audit trail (ListAuditEvents) keep events; 0 turns both off [TAGWAY_FEED_RETENTION]")
	fs.StringVar(&c.auditLog, "audit-log", "", "write an audit record (JSON lines) of every call that changes tags or is refused for authentication or authorization to this file, or to stderr for - [TAGWAY_AUDIT_LOG]")
	fs.StringVar(&c.authFile, "auth-file", "", "principals and their credentials (docs/auth.md); without it tagway authenticates no one [TAGWAY_AUTH_FILE]")
	fs.StringVar(&c.policyFile, "policy-file", "", "Cedar policies deciding what each principal may do (docs/policy.md); without it a principal may do everything within its scope [TAGWAY_POLICY_FILE]")
	fs.StringVar(&c.rateLimits, "rate-limits", "off", "rate limits per principal and operation: off, or aws (AWS's quotas for this API); the auth file's rate_limits apply either way [TAGWAY_RATE_LIMITS]")
	fs.IntVar(&c.maxInflightCalls, "max-inflight-calls", 1024, "the most calls in flight at once; more are refused at once as busy (0: no bound) [TAGWAY_MAX_INFLIGHT_CALLS]")
	fs.BoolVar(&c.allowRemote, "allow-remote-unauthenticated", false, "without --auth-file, serve clients on other machines too [TAGWAY_ALLOW_REMOTE_UNAUTHENTICATED]")
	fs.DurationVar(&c.awsMaxSkew, "aws-max-skew", 5*time.Minute, "how far X-Amz-Date may be from the server's clock [TAGWAY_AWS_MAX_SKEW]")
	fs.DurationVar(&c.huaweiMaxSkew, "huawei-max-skew", 15*time.Minute, "how far X-Sdk-Date may be from the server's clock [TAGWAY_HUAWEI_MAX_SKEW]")
	fs.StringVar(&c.tlsCert, "tls-cert-file", "", "PEM certificate: serve both ports over TLS [TAGWAY_TLS_CERT_FILE]")
	fs.StringVar(&c.tlsKey, "tls-key-file", "", "PEM key of --tls-cert-file [TAGWAY_TLS_KEY_FILE]")
	fs.StringVar(&c.tlsClientCA, "tls-client-ca-file", "", "PEM CAs of gRPC client certificates (mTLS; identities in the auth file) [TAGWAY_TLS_CLIENT_CA_FILE]")
	return fs
}

// envName returns the environment variable of a flag.
func envName(flagName string) string {
	return "TAGWAY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: tagway [flags]

tagway serves resource tags to gRPC clients and to REST clients speaking the
AWS Resource Groups Tagging API or Huawei Cloud Organizations tags, from one
tag store.

Flags (each also read from the environment variable in brackets; a flag on
the command line wins):
`)
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(w, "  --%-18s %s (default %q)\n", f.Name, f.Usage, f.DefValue)
	})
}

// parse reads the environment, then the command line.
func parse(args []string, getenv func(string) string) (config, *flag.FlagSet, error) {
	var c config
	fs := flagSet(&c)
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("invalid value %q for %s: %v", v, envName(f.Name), e)
			}
		}
	})
	if err != nil {
		return c, fs, err
	}
	if err := fs.Parse(args); err != nil {
		return c, fs, err
	}
	if fs.NArg() > 0 {
		return c, fs, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return c, fs, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	if _, _, ok := accesslog.ParseLevel(c.accessLog); !ok {
		return c, fs, fmt.Errorf("--access-log %q: want info, debug or off", c.accessLog)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, fs, errors.New("--tls-cert-file and --tls-key-file go together")
	}
	if c.tlsClientCA != "" && c.tlsCert == "" {
		return c, fs, errors.New("--tls-client-ca-file needs --tls-cert-file and --tls-key-file")
	}
	if c.bodyTimeout <= 0 || c.maxInflightBytes < 4<<20 || c.maxConns < 1 {
		return c, fs, errors.New("--http-body-timeout must be positive, --http-max-inflight-bytes at least 4194304 (one maximal body) and --http-max-conns at least 1")
	}
	if c.storeFile != "" && c.store != "memory" {
		return c, fs, errors.New("--store and --store-file: give one")
	}
	if c.storeTimeout < 10*time.Millisecond || c.storeTimeout > time.Minute {
		return c, fs, errors.New("--store-timeout must be between 10ms and 1m")
	}
	if c.rateLimits != "off" && c.rateLimits != "aws" {
		return c, fs, fmt.Errorf("--rate-limits %q: want off or aws", c.rateLimits)
	}
	if c.maxInflightCalls < 0 {
		return c, fs, errors.New("--max-inflight-calls must be 0 (no bound) or more")
	}
	if c.feedRetention != 0 && c.feedRetention < 5*time.Second {
		return c, fs, errors.New("--feed-retention must be 0 (off) or at least 5s")
	}
	if c.awsMaxSkew <= 0 || c.huaweiMaxSkew <= 0 {
		return c, fs, errors.New("--aws-max-skew and --huawei-max-skew must be positive")
	}
	return c, fs, nil
}

// run runs tagway until ctx is done and returns the exit code. stop is
// called once shutdown begins, so that a second signal kills the process.
func run(ctx context.Context, stop func(), args []string, getenv func(string) string, stdout, stderr io.Writer) (code int) {
	c, fs, err := parse(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout, fs)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tagway: %v (see tagway --help)\n", err)
		return 2
	}
	if c.version {
		fmt.Fprint(stdout, version.Read())
		return 0
	}

	opts := &slog.HandlerOptions{Level: c.logLevel}
	var h slog.Handler = slog.NewTextHandler(stderr, opts)
	if c.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, opts)
	}
	log := slog.New(h)
	var requests *accesslog.Logger
	if level, on, _ := accesslog.ParseLevel(c.accessLog); on {
		requests = accesslog.New(log, level)
	}
	var auth *principals.Source
	if c.authFile != "" {
		if auth, err = principals.Open(c.authFile); err != nil {
			fmt.Fprintf(stderr, "tagway: --auth-file: %v\n", err)
			return 2
		}
	}
	var policies *policy.Source
	if c.policyFile != "" {
		if policies, err = policy.Open(c.policyFile); err != nil {
			fmt.Fprintf(stderr, "tagway: --policy-file: %v\n", err)
			return 2
		}
	}
	var certs *tlsfiles.Reloader
	if c.tlsCert != "" {
		if certs, err = tlsfiles.Load(tlsfiles.Files{Cert: c.tlsCert, Key: c.tlsKey, ClientCA: c.tlsClientCA}); err != nil {
			fmt.Fprintf(stderr, "tagway: %v\n", err)
			return 2
		}
	}

	tr, err := tracing.FromEnv(ctx, getenv, version.Read().Module)
	if err != nil {
		fmt.Fprintf(stderr, "tagway: %v\n", err)
		return 2
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(flushCtx); err != nil {
			log.Warn("exporting the last spans", "error", err)
		}
	}()

	// Until the store answers, failing to reach it is the one-line error
	// below; go-redis's own retry messages would only repeat it.
	redisstore.SetLogger(slog.New(slog.DiscardHandler))

	fail := func(err error) int {
		fmt.Fprintf(stderr, "tagway: %v\n", err)
		return 1
	}
	spec, flagName := c.store, "--store"
	if c.storeFile != "" {
		b, err := os.ReadFile(c.storeFile)
		if err != nil {
			return fail(fmt.Errorf("--store-file: %v", err))
		}
		spec, flagName = strings.TrimSpace(string(b)), "--store-file "+c.storeFile
	}
	openCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	store, storeName, err := openStore(openCtx, spec, c.storeTimeout, c.feedRetention)
	if err != nil {
		cancel()
		return fail(fmt.Errorf("%s: %w", flagName, err))
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Warn("closing the store", "error", err)
		}
		if code == 0 {
			log.Info("stopped")
		}
	}()
	redisstore.SetLogger(log)
	reg := metrics.New()
	if rs, ok := store.(*redisstore.Store); ok {
		if err := reg.Register(metrics.PoolCollector(rs.Client().PoolStats)); err != nil {
			cancel()
			return fail(err)
		}
		if err := tr.Redis(rs.Client()); err != nil {
			cancel()
			return fail(err)
		}
	}
	failures := storehealth.NewFailures(log, 0)
	bounded := tagstore.Bounded(metrics.Store(store, reg), c.storeTimeout)
	svc, err := tagging.New(openCtx, bounded, tagging.WithPageTokenTTL(c.tokenTTL), tagging.WithFailures(failures), tagging.WithCallTimeout(c.storeTimeout))
	if err != nil {
		cancel()
		return fail(err)
	}
	trail, err := audit.Open(openCtx, c.auditLog, stderr, bounded, log)
	cancel()
	if err != nil {
		return fail(err)
	}
	defer trail.Close()
	prober := storehealth.NewProber(store.Ping, 0, min(c.storeTimeout, storehealth.DefaultProbeTimeout), log)
	_ = prober.Probe(ctx) // ready from the start: the store just answered
	go prober.Run(ctx)
	go storehealth.Forget(ctx, bounded, 0, failures)
	reg.AddCounter("tagway_store_failures_total", "Store calls that failed or timed out (changes, reads, housekeeping).", failures.Total)
	reg.AddCounter("tagway_audit_sink_failures_total", "Audit records the --audit-log sink failed to take.", trail.Metrics.SinkFailures.Load)
	reg.AddCounter("tagway_audit_store_failures_total", "Audit records the store failed to keep for ListAuditEvents.", trail.Metrics.StoreFailures.Load)
	// Every surface calls the core through the access layer.
	accessOpts := []access.Option{access.WithLogger(log), access.WithMaxInflight(c.maxInflightCalls),
		access.WithQuotas(quotas(c.rateLimits, store, log)), access.WithRefusals(reg.Refused), access.WithAudit(trail)}
	if policies != nil {
		accessOpts = append(accessOpts, access.WithPolicies(policies))
		log.Info("policies on", "policy_file", policies.Path(), "policies", policies.Current().Len())
	}
	// Changes are counted above the access layer, so that the resources its
	// policies deny count among the failures.
	core := metrics.Core(access.New(tr.Core(svc), accessOpts...), reg)
	grpcAuth := (&grpcauth.Authenticator{Principals: auth, AllowRemote: c.allowRemote}).Authenticate
	cfg := server.Config{
		GRPCAddr: c.grpcAddr, HTTPAddr: c.httpAddr,
		Service: core, Ready: func(context.Context) error { return prober.Ready() },
		Metrics: reg,
		Dialects: []server.Dialect{
			feedhttp.New(ctx, core, grpcAuth, trail.Refused),
			aws.New(core, aws.Auth{Principals: auth, AllowRemote: c.allowRemote, MaxSkew: c.awsMaxSkew, Log: log, Refused: trail.Refused}),
			huawei.New(core, huawei.Auth{Principals: auth, AllowRemote: c.allowRemote, MaxSkew: c.huaweiMaxSkew, Log: log, Refused: trail.Refused}),
		},
		Authenticate: audit.Authenticate(grpcAuth, trail),
		DrainDelay:   c.drainDelay, ShutdownTimeout: c.shutdownTimeout, Settle: shutdownSettle,
		Limits: server.Limits{BodyTimeout: c.bodyTimeout, InflightBodyBytes: c.maxInflightBytes, HTTPConns: c.maxConns},
		Log:    log,

		HTTPMiddleware: func(h http.Handler) http.Handler { return tr.HTTP(requests.HTTP(h)) },
		GRPCOptions:    append(tr.GRPCOptions(), requests.GRPCOptions()...),
		Route: func(ctx context.Context, surface, operation string) {
			tracing.Name(ctx, surface, operation)
			accesslog.Route(ctx, surface, operation)
		},
	}
	if certs != nil {
		cfg.GRPCTLS = certs.Config([]string{"h2"}, c.tlsClientCA != "")
		cfg.HTTPTLS = certs.Config([]string{"h2", "http/1.1"}, false)
	}
	if c.debugAddr != "" {
		l, err := debugserver.Listen(c.debugAddr, c.debugAllowRemote)
		if err != nil {
			return fail(fmt.Errorf("--debug-addr: %w", err))
		}
		defer l.Close()
		log.Info("profiling on", "debug", l.Addr().String())
		go debugserver.Serve(ctx, l, log)
	}
	srv, err := server.New(cfg)
	if err != nil {
		return fail(err)
	}
	switch {
	case auth == nil && c.allowRemote:
		log.Warn("no --auth-file: authentication is off and --allow-remote-unauthenticated is set, so anyone who can reach tagway may read and change every tag")
	case auth == nil:
		log.Warn("no --auth-file: authentication is off; only clients on this machine are served (see docs/auth.md)")
	default:
		log.Info("authentication on", "auth_file", auth.Path(), "principals", len(auth.Current().Principals()))
	}
	go reload(ctx, log, auth, policies, certs)
	log.Info("tagway listening", "grpc", srv.GRPCAddr().String(), "http", srv.HTTPAddr().String(), "store", storeName)

	go func() {
		<-ctx.Done()
		stop()
		log.Info("shutting down")
	}()
	err = srv.Serve(ctx)
	// A change sent before the end may still be queued in the store: wait
	// out its deadline, so that nothing lands after tagway has gone.
	settleCtx, cancelSettle := context.WithTimeout(context.Background(), c.storeTimeout+time.Second)
	bounded.Settle(settleCtx, settleMargin)
	cancelSettle()
	if err != nil {
		return fail(err)
	}
	return 0
}

// shutdownSettle is how long HTTP keep-alive clients are told to close
// their connections before the listeners close (server.Config.Settle).
const shutdownSettle = 500 * time.Millisecond

// settleMargin covers the difference between the store's clock and ours
// when waiting out the deadlines of the last changes.
const settleMargin = 100 * time.Millisecond

// reloadable is a file-backed setting reload re-reads: what it is, for the
// log, and how to re-read it, returning what to log of the new version.
type reloadable struct {
	what, kept string // "auth file"; what stays when a version is refused
	paths      []string
	reload     func() ([]any, error)
}

// reload re-reads the auth file, the policy file and the TLS files on
// SIGHUP and when they change on disk, until ctx is done. A version that
// does not load is refused with an ERROR line and the one in force stays.
func reload(ctx context.Context, log *slog.Logger, auth *principals.Source, policies *policy.Source, certs *tlsfiles.Reloader) {
	var items []reloadable
	if auth != nil {
		items = append(items, reloadable{"auth file", "the version in force stays", []string{auth.Path()}, func() ([]any, error) {
			set, err := auth.Reload()
			if err != nil {
				return nil, err
			}
			return []any{"auth_file", auth.Path(), "principals", len(set.Principals())}, nil
		}})
	}
	if policies != nil {
		items = append(items, reloadable{"policy file", "the version in force stays", []string{policies.Path()}, func() ([]any, error) {
			set, err := policies.Reload()
			if err != nil {
				return nil, err
			}
			return []any{"policy_file", policies.Path(), "policies", set.Len()}, nil
		}})
	}
	if certs != nil {
		items = append(items, reloadable{"TLS files", "the certificate in force stays", certs.Paths(), func() ([]any, error) {
			return nil, certs.Reload()
		}})
	}
	if len(items) == 0 {
		return
	}
	var paths []string
	for _, it := range items {
		paths = append(paths, it.paths...)
	}
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go filewatch.Watch(ctx, reloadInterval, paths, poke)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-changed:
		}
		for _, it := range items {
			if attrs, err := it.reload(); err != nil {
				log.Error(it.what+" not reloaded; "+it.kept, "error", err)
			} else {
				log.Info(it.what+" reloaded", attrs...)
			}
		}
	}
}

// quotas returns the rate limits of --rate-limits mode: shared through
// Redis when the store is Redis, kept in this process otherwise.
func quotas(mode string, store tagstore.Store, log *slog.Logger) *quota.Quotas {
	var defaults map[string]quota.Limit
	if mode == "aws" {
		defaults = quota.AWS
	}
	var limiter quota.Limiter = quota.NewLocal()
	if rs, ok := store.(*redisstore.Store); ok {
		limiter = quota.NewRedis(rs.Client(), rs.KeyPrefix(), log)
	}
	return quota.New(defaults, limiter)
}

// openStore opens the store a --store value names. A Redis store applies
// no change later than timeout after it is sent (redisstore.Options).
func openStore(ctx context.Context, spec string, timeout, feedRetention time.Duration) (tagstore.Store, string, error) {
	if spec == "memory" {
		return memstore.New(memstore.WithFeed(feedRetention, 0)), "memory", nil
	}
	if !strings.Contains(spec, "://") {
		if strings.Contains(spec, "@") {
			spec = "(hidden: it holds a password)"
		}
		return nil, "", fmt.Errorf("%q: want memory or a Redis URL such as redis://127.0.0.1:6379/0", spec)
	}
	if feedRetention == 0 {
		feedRetention = -1 // off
	}
	s, err := redisstore.Open(ctx, spec, redisstore.Options{MaxChangeAge: timeout, FeedRetention: feedRetention})
	if err != nil {
		return nil, "", err
	}
	return s, redisstore.Redact(spec), nil
}
