package listen

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagway.sock")
	l, err := Listen("unix://" + path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != SocketMode {
		t.Fatalf("socket file: %v, %v", fi, err)
	}
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	// A live listener is not taken over.
	if _, err := Listen("unix:" + path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second listener: %v", err)
	}
	// Closing removes the file.
	l.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket file after close: %v", err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tagway.sock")
	// A listener that dies without closing leaves its file behind.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal("no stale file to test with")
	}
	l2, err := Listen("unix://" + path)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l2.Close()
}

func TestRefused(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"unix://" + file, "unix://", "unix:"} {
		if l, err := Listen(addr); err == nil {
			l.Close()
			t.Errorf("%q: listened", addr)
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Error("a regular file was replaced")
	}
	l, err := Listen("127.0.0.1:0")
	if err != nil || l.Addr().Network() != "tcp" {
		t.Fatalf("TCP: %v", err)
	}
	l.Close()
}
