package grpcauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/tagging"
)

const authFile = `principals:
  - name: team-a
    grpc:
      tokens: ["team-a-token"]
      identities: ["spiffe://example.org/ns/a/sa/tagger"]
`

func TestAuthenticate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.yaml")
	if err := os.WriteFile(path, []byte(authFile), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := principals.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5}
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 5}
	cert := func(uri string, verified bool) credentials.TLSInfo {
		u, _ := url.Parse(uri)
		c := &x509.Certificate{URIs: []*url.URL{u}}
		st := tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}}
		if verified {
			st.VerifiedChains = [][]*x509.Certificate{{c}}
		}
		return credentials.TLSInfo{State: st}
	}
	call := func(addr net.Addr, info credentials.AuthInfo, md ...string) context.Context {
		ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: addr, AuthInfo: info})
		return metadata.NewIncomingContext(ctx, metadata.Pairs(md...))
	}
	cases := []struct {
		name string
		a    Authenticator
		ctx  context.Context
		who  string // "" for an error
	}{
		{"open, local", Authenticator{}, call(local, nil), "anonymous"},
		{"open, unix", Authenticator{}, call(&net.UnixAddr{Net: "unix"}, nil), "anonymous"},
		{"open, remote", Authenticator{}, call(remote, nil), ""},
		{"open, remote allowed", Authenticator{AllowRemote: true}, call(remote, nil), "anonymous"},
		{"token", Authenticator{Principals: src}, call(remote, nil, "authorization", "Bearer team-a-token"), "team-a"},
		{"token, lower-case scheme", Authenticator{Principals: src}, call(remote, nil, "authorization", "bearer team-a-token"), "team-a"},
		{"unknown token", Authenticator{Principals: src}, call(local, nil, "authorization", "Bearer team-b-token"), ""},
		{"not bearer", Authenticator{Principals: src}, call(local, nil, "authorization", "Basic dGVhbQ=="), ""},
		{"two tokens", Authenticator{Principals: src}, call(local, nil, "authorization", "Bearer team-a-token", "authorization", "Bearer team-a-token"), ""},
		{"certificate", Authenticator{Principals: src}, call(remote, cert("spiffe://example.org/ns/a/sa/tagger", true)), "team-a"},
		{"unverified certificate", Authenticator{Principals: src}, call(remote, cert("spiffe://example.org/ns/a/sa/tagger", false)), ""},
		{"unknown certificate", Authenticator{Principals: src}, call(remote, cert("spiffe://example.org/ns/b/sa/x", true)), ""},
		{"nothing, even local", Authenticator{Principals: src}, call(local, nil), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, err := tc.a.Authenticate(tc.ctx)
			if tc.who == "" {
				if status.Code(err) != codes.Unauthenticated || tagging.Info(err).GetReason() != ReasonUnauthenticated {
					t.Fatalf("error %v, want UNAUTHENTICATED with ErrorInfo", err)
				}
				if s := status.Convert(err).Message(); s == "" || strings.Contains(s, "team-a-token") {
					t.Fatalf("message %q", s)
				}
				return
			}
			c, ok := identity.FromContext(ctx)
			if err != nil || !ok || c.Name() != tc.who || c.Surface != identity.SurfaceGRPC {
				t.Fatalf("caller %+v, %v, %v; want %s", c, ok, err, tc.who)
			}
		})
	}
}
