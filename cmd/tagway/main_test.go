package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagwaytest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tagway-bin-")
	if err != nil {
		panic(err)
	}
	root, err := tagwaytest.ModuleRoot()
	if err == nil {
		binary, err = tagwaytest.Build(root, dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestServeOverGRPCAndStop(t *testing.T) {
	p := tagwaytest.Start(t, binary)
	conn := dial(t, p.GRPC)
	ctx := context.Background()

	// Reflection describes the core service, as grpcurl would use it.
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "tagway.v1.TaggingService"}})
	resp, err := stream.Recv()
	if err != nil || len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Fatalf("reflection: %v, %v", resp, err)
	}

	c := tagwayv1.NewTaggingServiceClient(conn)
	arn := "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
	if _, err := c.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: []string{arn}, Tags: map[string]string{"env": "prod", "team": "a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{arn}, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetResourceTags(ctx, &tagwayv1.GetResourceTagsRequest{Resources: []string{arn}})
	if err != nil || len(got.GetResources()) != 1 || len(got.GetResources()[0].GetTags()) != 1 {
		t.Fatalf("GetResourceTags = %v, %v", got, err)
	}
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}
	r, err := http.Get(p.URL() + "/readyz")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("/readyz = %v, %v", r, err)
	}
	r.Body.Close()

	lines := p.Stop(t, syscall.SIGINT)
	if last := lines[len(lines)-1]; !strings.Contains(last, "stopped") {
		t.Fatalf("last log line %q", last)
	}
	// One access line per call, with its principal and a request id; the
	// health check is a probe, logged at debug only.
	access := 0
	for _, l := range lines {
		if strings.Contains(l, "msg=request surface=grpc operation=/tagway.v1.TaggingService/") {
			access++
			if !strings.Contains(l, "principal=anonymous status=OK") || !strings.Contains(l, "request_id=") {
				t.Errorf("access line %q", l)
			}
		}
		if strings.Contains(l, "grpc.health.v1") {
			t.Errorf("a health check was logged at info: %q", l)
		}
	}
	if access != 3 {
		t.Errorf("%d access lines for 3 calls:\n%s", access, strings.Join(lines, "\n"))
	}
}

// TestVersion checks that --version prints the build information.
func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "tagway ") || !strings.HasPrefix(lines[1], "commit: ") || !strings.HasPrefix(lines[2], "go: go1.") {
		t.Fatalf("--version printed %q", out)
	}
}

// TestDebugAddr checks that --debug-addr serves the profiles.
func TestDebugAddr(t *testing.T) {
	p := tagwaytest.Start(t, binary, "--debug-addr", "127.0.0.1:0")
	line := p.WaitLog(t, "profiling on", 5*time.Second)
	_, addr, _ := strings.Cut(line, "debug=")
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "--debug-addr") {
		t.Fatalf("/debug/pprof/cmdline: %d %q", resp.StatusCode, b)
	}
	// The profiles are not on the service's port.
	if resp, err := http.Get(p.URL() + "/debug/pprof/"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ on the HTTP port: %v %v", resp, err)
	}
}

// TestRedisStore runs tagway on a real Redis and checks that tags outlive a
// restart.
func TestRedisStore(t *testing.T) {
	srv := redistest.Run(t)
	arn := "arn:aws:s3:::persisted"
	p := tagwaytest.Start(t, binary, "--store", srv.URL())
	c := tagwayv1.NewTaggingServiceClient(dial(t, p.GRPC))
	if _, err := c.TagResources(context.Background(), &tagwayv1.TagResourcesRequest{Resources: []string{arn}, Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	p.Stop(t, syscall.SIGTERM)

	p = tagwaytest.Start(t, binary, "--store", srv.URL())
	c = tagwayv1.NewTaggingServiceClient(dial(t, p.GRPC))
	got, err := c.GetResourceTags(context.Background(), &tagwayv1.GetResourceTagsRequest{Resources: []string{arn}})
	if err != nil || len(got.GetResources()) != 1 || got.GetResources()[0].GetTags()[0].GetValue() != "v" {
		t.Fatalf("after restart: %v, %v", got, err)
	}
	srv.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := http.Get(p.URL() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz with Redis gone = %d %s", r.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.Stop(t, syscall.SIGTERM)
}

// TestSchemaMismatch checks that tagway will not start on a store written
// with another key schema.
func TestSchemaMismatch(t *testing.T) {
	srv := redistest.Run(t)
	if _, err := srv.Do("SET", "tagway:schema", "1"); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd := exec.Command(binary, "--store", srv.URL(), "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	cmd.Stderr = &stderr
	err := cmd.Run()
	if out := stderr.String(); err == nil || cmd.ProcessState.ExitCode() != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "schema version 1") {
		t.Fatalf("exit %d, stderr %q", cmd.ProcessState.ExitCode(), out)
	}
}

// TestStartErrors checks that bad configurations give one line and a
// non-zero exit.
func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	badAuth := filepath.Join(dir, "auth.yaml")
	if err := os.WriteFile(badAuth, []byte("principals:\n  - name: a\n    aws:\n      account: \"123\"\n      access_keys: [{id: AKID0000000000000001, secret: hunter2}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badURL := filepath.Join(dir, "store-url")
	if err := os.WriteFile(badURL, []byte("redis://:hunter2@127.0.0.1:1/0?sentinel_password=hunter3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{"unknown flag", []string{"--bogus"}, nil, 2, "flag provided but not defined: -bogus"},
		{"store and store file", []string{"--store", "redis://h:1", "--store-file", badURL}, nil, 2, "--store and --store-file: give one"},
		{"store file unreadable", []string{"--store-file", filepath.Join(dir, "none")}, nil, 1, "--store-file: open"},
		{"store file password redacted", []string{"--store-file", badURL}, nil, 1, "--store-file " + badURL + ": store URL redis://:xxxxx@127.0.0.1:1/0?sentinel_password=xxxxx"},
		{"store timeout too short", []string{"--store-timeout", "1ms"}, nil, 2, "--store-timeout must be between 10ms and 1m"},
		{"inflight below one body", []string{"--http-max-inflight-bytes", "1000"}, nil, 2, "--http-max-inflight-bytes at least 4194304"},
		{"bad duration", []string{"--drain-delay", "soon"}, nil, 2, `invalid value "soon" for flag -drain-delay`},
		{"bad env", nil, []string{"TAGWAY_PAGE_TOKEN_TTL=forever"}, 2, "TAGWAY_PAGE_TOKEN_TTL"},
		{"bad log format", []string{"--log-format", "xml"}, nil, 2, "--log-format"},
		{"remote debug address", []string{"--debug-addr", "0.0.0.0:0"}, nil, 1, `--debug-addr: "0.0.0.0:0" is not a loopback address`},
		{"bad access log level", []string{"--access-log", "loud"}, nil, 2, `--access-log "loud": want info, debug or off`},
		{"unreachable redis", []string{"--store", "redis://127.0.0.1:1/0"}, nil, 1, "connection refused"},
		{"redis password redacted", []string{"--store", "redis://:hunter2@127.0.0.1:1/0"}, nil, 1, "xxxxx"},
		{"store not a URL", []string{"--store", "disk"}, nil, 1, "want memory or a Redis URL"},
		{"bad listen address", []string{"--http-addr", "not an address"}, nil, 1, "HTTP listener"},
		{"bad auth file", []string{"--auth-file", badAuth}, nil, 2, badAuth + `:4: principal "a": aws.account "123" is not 12 digits`},
		{"bad auth file from env", nil, []string{"TAGWAY_AUTH_FILE=" + badAuth}, 2, badAuth + ":4:"},
		{"missing auth file", []string{"--auth-file", filepath.Join(dir, "none.yaml")}, nil, 2, "no such file"},
		{"cert without key", []string{"--tls-cert-file", badAuth}, nil, 2, "--tls-cert-file and --tls-key-file go together"},
		{"client CA without cert", []string{"--tls-client-ca-file", badAuth}, nil, 2, "--tls-client-ca-file needs"},
		{"bad certificate", []string{"--tls-cert-file", badAuth, "--tls-key-file", badAuth}, nil, 2, "TLS certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, tc.args...)
			cmd.Env = tc.env
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			out := stderr.String()
			if err == nil || code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr %q", code, tc.code, out)
			}
			if strings.Contains(out, "hunter") {
				t.Fatalf("stderr shows a password: %q", out)
			}
			if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "tagway: ") || !strings.Contains(out, tc.want) {
				t.Fatalf("stderr %q, want one line with %q", out, tc.want)
			}
			if strings.Contains(out, "hunter2") || strings.Contains(out, "goroutine") {
				t.Fatalf("stderr leaks: %q", out)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	out, err := exec.Command(binary, "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--http-addr", "TAGWAY_HTTP_ADDR", `":8080"`, "--grpc-addr", "TAGWAY_GRPC_ADDR", `":9090"`, "--store", "TAGWAY_STORE", `"memory"`, "--drain-delay"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--help lacks %s:\n%s", want, out)
		}
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	c, _, err := parse([]string{"--grpc-addr", ":1"}, func(k string) string {
		return map[string]string{"TAGWAY_GRPC_ADDR": ":2", "TAGWAY_HTTP_ADDR": ":3", "TAGWAY_STORE": "redis://h:1/0", "TAGWAY_DRAIN_DELAY": "2s"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.grpcAddr != ":1" || c.httpAddr != ":3" || c.store != "redis://h:1/0" || c.drainDelay != 2*time.Second {
		t.Fatalf("config = %+v", c)
	}
}

// TestStoreFile starts tagway on a password-protected Redis whose URL is in
// a file: the password is on no command line and in no log line.
func TestStoreFile(t *testing.T) {
	srv, err := redistest.StartConfig(redistest.Config{Password: "s3cret-pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	file := filepath.Join(t.TempDir(), "store")
	if err := os.WriteFile(file, []byte(srv.URL()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := tagwaytest.Start(t, binary, "--store-file", file)
	c := tagwayv1.NewTaggingServiceClient(dial(t, p.GRPC))
	if _, err := c.TagResources(context.Background(), &tagwayv1.TagResourcesRequest{Resources: []string{"arn:aws:s3:::bucket"}, Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID()))
	if err == nil && strings.Contains(string(cmdline), "s3cret") {
		t.Fatalf("the command line shows the password: %q", cmdline)
	}
	lines := p.Stop(t, syscall.SIGTERM)
	log := strings.Join(lines, "\n")
	if strings.Contains(log, "s3cret") {
		t.Fatalf("the log shows the password:\n%s", log)
	}
}
