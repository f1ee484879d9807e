// Package tlsfiles serves TLS from PEM files — a certificate, its key and
// optionally a CA for client certificates — and re-reads them on request,
// so that certificates rotated on disk (hourly, for mesh sidecars) take
// effect without a restart.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// Files names the PEM files.
type Files struct {
	Cert, Key string
	// ClientCA, when set, holds the CAs client certificates are verified
	// against.
	ClientCA string
}

// Reloader holds the certificate in force.
type Reloader struct {
	files Files
	cur   atomic.Pointer[material]
}

type material struct {
	cert      *tls.Certificate
	clientCAs *x509.CertPool
}

// Load reads the files.
func Load(f Files) (*Reloader, error) {
	if f.Cert == "" || f.Key == "" {
		return nil, errors.New("TLS needs both a certificate file and a key file")
	}
	r := &Reloader{files: f}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Paths returns the files to watch.
func (r *Reloader) Paths() []string {
	p := []string{r.files.Cert, r.files.Key}
	if r.files.ClientCA != "" {
		p = append(p, r.files.ClientCA)
	}
	return p
}

// Reload reads the files again. Files that do not load leave the
// certificate in force unchanged, and Reload says why; a certificate and
// key caught between two writes do not match, and the next Reload, after
// the second write, takes them.
func (r *Reloader) Reload() error {
	cert, err := tls.LoadX509KeyPair(r.files.Cert, r.files.Key)
	if err != nil {
		return fmt.Errorf("TLS certificate %s with key %s: %w", r.files.Cert, r.files.Key, err)
	}
	m := &material{cert: &cert}
	if r.files.ClientCA != "" {
		pem, err := os.ReadFile(r.files.ClientCA)
		if err != nil {
			return fmt.Errorf("TLS client CA: %w", err)
		}
		m.clientCAs = x509.NewCertPool()
		if !m.clientCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("TLS client CA %s holds no PEM certificate", r.files.ClientCA)
		}
	}
	r.cur.Store(m)
	return nil
}

// Config returns a server TLS configuration that takes the files in force
// at each handshake, offering nextProtos by ALPN ("h2" for gRPC). With
// clientCerts and a client CA, a client certificate, when presented, must
// chain to the CA or the handshake fails; whether a call must present one
// is for the server's authentication to decide, so that health probes can
// connect without.
func (r *Reloader) Config(nextProtos []string, clientCerts bool) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := r.cur.Load()
			c := &tls.Config{
				MinVersion:   tls.VersionTLS12,
				NextProtos:   nextProtos,
				Certificates: []tls.Certificate{*m.cert},
			}
			if clientCerts && m.clientCAs != nil {
				c.ClientAuth = tls.VerifyClientCertIfGiven
				c.ClientCAs = m.clientCAs
			}
			return c, nil
		},
	}
}
