package debugserver

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "192.0.2.1:0", "example.com:0", "nonsense"} {
		if l, err := Listen(addr, false); err == nil {
			l.Close()
			t.Errorf("%q: listened", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0", "unix://" + t.TempDir() + "/debug.sock"} {
		l, err := Listen(addr, false)
		if err != nil {
			if strings.Contains(addr, "::1") {
				continue // no IPv6 loopback on this machine
			}
			t.Errorf("%q: %v", addr, err)
			continue
		}
		l.Close()
	}
	l, err := Listen("0.0.0.0:0", true)
	if err != nil {
		t.Fatalf("allowed remote: %v", err)
	}
	l.Close()
}

func TestServesPprof(t *testing.T) {
	l, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, l, slog.New(slog.DiscardHandler)); close(done) }()
	defer func() { cancel(); <-done }()
	resp, err := http.Get("http://" + l.Addr().String() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "goroutine profile") {
		t.Fatalf("%d %.200s", resp.StatusCode, b)
	}
}
