package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

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

// eachStore runs fn against a fresh tagway on the memory store and on a
// freshly flushed real Redis. extra are further tagway flags.
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
}

// core returns a gRPC client of the core service of tw.
func core(t *testing.T, tw *tagwaytest.Proc) tagwayv1.TaggingServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(tw.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return tagwayv1.NewTaggingServiceClient(conn)
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
