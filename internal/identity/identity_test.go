package identity

import (
	"context"
	"net"
	"testing"

	"github.com/tagway/tagway/internal/principals"
)

func TestIsLocal(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9090":          true,
		"127.8.9.10:1":            true,
		"[::1]:9090":              true,
		"[::ffff:127.0.0.1]:1":    true,
		"":                        true,
		"@":                       true,
		"10.0.0.1:9090":           false,
		"[2001:db8::1]:1":         false,
		"192.168.1.1:443":         false,
		"localhost:80":            false,
		"not an address":          false,
		"[::ffff:10.0.0.1]:65535": false,
	} {
		if IsLocalAddr(addr) != want {
			t.Errorf("IsLocalAddr(%q) = %v", addr, !want)
		}
	}
	if !IsLocal(&net.UnixAddr{Name: "", Net: "unix"}) || IsLocal(nil) {
		t.Error("IsLocal of a Unix peer or nil")
	}
	if !IsLocal(&net.TCPAddr{IP: net.IPv6loopback, Port: 1}) || IsLocal(&net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 1}) {
		t.Error("IsLocal of TCP peers")
	}
}

func TestContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("a caller in an empty context")
	}
	c := Caller{Principal: &principals.Principal{Name: "team-a"}, Surface: SurfaceAWS}
	got, ok := FromContext(NewContext(context.Background(), c))
	if !ok || got.Name() != "team-a" || got.Surface != SurfaceAWS {
		t.Fatalf("FromContext = %+v, %v", got, ok)
	}
	if (Caller{}).Name() != "anonymous" {
		t.Fatal("anonymous name")
	}
}
