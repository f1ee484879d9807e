package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/testpki"
)

// handshake connects a client to a server configured by cfg and returns the
// server certificate's subject, or the handshake error.
func handshake(t *testing.T, cfg *tls.Config, roots *x509.CertPool, client *tls.Certificate) (string, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	cc := &tls.Config{RootCAs: roots, ServerName: "localhost", NextProtos: []string{"h2"}}
	if client != nil {
		// Present it whatever CAs the server asks for.
		cc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return client, nil }
	}
	conn, err := tls.Dial("tcp", ln.Addr().String(), cc)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		return "", err
	}
	// The server verifies a client certificate after the client's last
	// flight: read to learn whether it refused.
	_ = conn.SetReadDeadline(timeoutSoon())
	if _, err := conn.Read(make([]byte, 1)); err != nil && !isTimeout(err) && !strings.Contains(err.Error(), "EOF") {
		return "", err
	}
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

func TestRotationAndClientCerts(t *testing.T) {
	ca := testpki.NewCA(t, "tagway-test")
	roots := x509.NewCertPool()
	pem, _ := os.ReadFile(ca.CertFile)
	roots.AppendCertsFromPEM(pem)

	first := ca.Server(t, "server-one")
	r, err := Load(Files{Cert: first.CertFile, Key: first.KeyFile, ClientCA: ca.CertFile})
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.Config([]string{"h2"}, true)
	if name, err := handshake(t, cfg, roots, nil); err != nil || name != "server-one" {
		t.Fatalf("without a client certificate: %q, %v", name, err)
	}
	good := ca.Client(t, "client", "spiffe://example.org/ns/a/sa/tagger")
	goodPair, err := tls.LoadX509KeyPair(good.CertFile, good.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, cfg, roots, &goodPair); err != nil {
		t.Fatalf("with the CA's client certificate: %v", err)
	}
	stranger := testpki.NewCA(t, "stranger").Client(t, "stranger", "spiffe://evil.example/x")
	strangerPair, err := tls.LoadX509KeyPair(stranger.CertFile, stranger.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, cfg, roots, &strangerPair); err == nil {
		t.Fatal("a client certificate from another CA was accepted")
	}

	// Rotate: the same paths now hold another certificate.
	second := ca.Server(t, "server-two")
	for _, f := range [][2]string{{second.CertFile, first.CertFile}, {second.KeyFile, first.KeyFile}} {
		if err := os.Rename(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if name, err := handshake(t, cfg, roots, nil); err != nil || name != "server-two" {
		t.Fatalf("after rotation: %q, %v", name, err)
	}
	// A broken file leaves the certificate in force.
	if err := os.WriteFile(first.KeyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err == nil {
		t.Fatal("a broken key loaded")
	}
	if name, err := handshake(t, cfg, roots, nil); err != nil || name != "server-two" {
		t.Fatalf("after a broken reload: %q, %v", name, err)
	}
	if _, err := Load(Files{Cert: first.CertFile}); err == nil {
		t.Fatal("loaded without a key file")
	}
}

func timeoutSoon() time.Time { return time.Now().Add(100 * time.Millisecond) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
