package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagwaytest"
)

var (
	binary string
	redis  *redistest.Server
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tagway-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := tagwaytest.ModuleRoot()
	if err == nil {
		binary, err = tagwaytest.Build(root, dir)
	}
	if err == nil {
		redis, err = redistest.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer redis.Stop()
	return m.Run()
}

// eachStore runs fn against a fresh tagway on the memory store, on a
// freshly flushed real Redis, and on two tagway processes sharing that
// Redis, with calls alternating between them. extra are further tagway
// flags.
func eachStore(t *testing.T, fn func(t *testing.T, tw *tagwaytest.Proc), extra ...string) {
	t.Run("memory", func(t *testing.T) {
		fn(t, tagwaytest.Start(t, binary, extra...))
	})
	t.Run("redis", func(t *testing.T) {
		if _, err := redis.Do("FLUSHALL"); err != nil {
			t.Fatal(err)
		}
		fn(t, tagwaytest.Start(t, binary, append([]string{"--store", redis.URL()}, extra...)...))
	})
	t.Run("two-replicas", func(t *testing.T) {
		if _, err := redis.Do("FLUSHALL"); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"--store", redis.URL()}, extra...)
		fn(t, pair(t, tagwaytest.Start(t, binary, args...), tagwaytest.Start(t, binary, args...)))
	})
}

// pair returns a Proc that alternates calls between a and b: HTTP requests
// through a round-robin proxy (which keeps the Host header, so signatures
// hold), gRPC calls by the round_robin balancer over both. Its log and
// signals are a's. Over TLS, HTTP goes to a alone.
func pair(t *testing.T, a, b *tagwaytest.Proc) *tagwaytest.Proc {
	t.Helper()
	p := *a
	p.GRPC = pairScheme + ":///" + a.GRPC + "," + b.GRPC
	if a.TLS {
		return &p
	}
	backends := []*url.URL{{Scheme: "http", Host: a.HTTP}, {Scheme: "http", Host: b.HTTP}}
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backends[next.Add(1)%2])
		r.Out.Host = r.In.Host
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	p.HTTP = l.Addr().String()
	return &p
}

// pairScheme names the resolver of pair's gRPC targets: the addresses in
// the path, balanced round robin.
const pairScheme = "tagway-pair"

type pairResolver struct{}

func (pairResolver) Scheme() string { return pairScheme }

func (pairResolver) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	var addrs []resolver.Address
	for _, a := range strings.Split(strings.TrimPrefix(target.URL.Path, "/"), ",") {
		addrs = append(addrs, resolver.Address{Addr: a})
	}
	err := cc.UpdateState(resolver.State{
		Addresses:     addrs,
		ServiceConfig: cc.ParseServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
	})
	return pairResolver{}, err
}

func (pairResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (pairResolver) Close()                                {}

func init() { resolver.Register(pairResolver{}) }

// core returns a gRPC client of the core service of tw.
func core(t *testing.T, tw *tagwaytest.Proc) tagwayv1.TaggingServiceClient {
	t.Helper()
	return tagwayv1.NewTaggingServiceClient(dialGRPC(t, tw))
}

// dialGRPC returns a connection to tw's gRPC port, closed with the test.
func dialGRPC(t *testing.T, tw *tagwaytest.Proc) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(tw.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// requireTool returns the path of an external client, failing the test when
// TAGWAY_E2E_REQUIRE_CLIENTS is set (as in CI) and skipping it otherwise.
func requireTool(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("TAGWAY_E2E_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s is required: %v", path, err)
		}
		t.Skipf("%s is not installed; set TAGWAY_E2E_REQUIRE_CLIENTS=1 to make this a failure", path)
	}
	return path
}

// runTool runs a command and returns its stdout, stderr and exit code.
func runTool(t *testing.T, env []string, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(ctxT(t), name, args...)
	cmd.Env = env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("%s: %v", name, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

func startRedis() (*redistest.Server, error) { return redistest.Start() }
