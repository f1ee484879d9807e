// Package identity carries who is calling through a request's context: the
// principal a surface authenticated, or an anonymous caller when tagway runs
// without an auth file.
package identity

import (
	"context"
	"net"
	"net/netip"

	"github.com/tagway/tagway/internal/principals"
)

// Surfaces a call arrives on.
const (
	SurfaceGRPC   = "grpc"
	SurfaceAWS    = "aws"
	SurfaceHuawei = "huawei"
)

// OpenModeMessage tells a remote caller of tagway without an auth file why
// it is refused and how to configure tagway.
const OpenModeMessage = "tagway runs without an auth file and answers only clients on its own machine; " +
	"start it with --auth-file to authenticate callers, or with --allow-remote-unauthenticated to serve anyone"

// Caller is who made a call.
type Caller struct {
	// Principal is the authenticated principal; nil for an anonymous
	// caller, which only tagway without an auth file lets in.
	Principal *principals.Principal
	// Surface is where the call arrived: SurfaceGRPC, SurfaceAWS or
	// SurfaceHuawei.
	Surface string
	// Credential names the credential that authenticated the call, for logs:
	// an access key id, "bearer token" or a certificate's URI; never a secret.
	Credential string
	// Peer is the network address the call came from.
	Peer string
	// RequestID is the id the surface gave the request (and told the
	// caller); Operation the surface's name of the call, such as
	// TagResources or CreateTagResource; UserAgent the client's. The access
	// layer fills those a surface leaves empty.
	RequestID, Operation, UserAgent string
}

// Name returns the principal's name, or "anonymous".
func (c Caller) Name() string {
	if c.Principal == nil {
		return "anonymous"
	}
	return c.Principal.Name
}

type callerKey struct{}

type observerKey struct{}

// NewContext returns ctx carrying c, and hands c to the observer of ctx
// (WithObserver), if any.
func NewContext(ctx context.Context, c Caller) context.Context {
	if fn, ok := ctx.Value(observerKey{}).(func(Caller)); ok {
		fn(c)
	}
	return context.WithValue(ctx, callerKey{}, c)
}

// WithObserver returns ctx in which NewContext also hands each caller to
// fn, so that code that only sees the request's outer context (an access
// log written once the request is done) learns who made it.
func WithObserver(ctx context.Context, fn func(Caller)) context.Context {
	return context.WithValue(ctx, observerKey{}, fn)
}

// FromContext returns the caller in ctx; false when no surface
// authenticated the call.
func FromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// IsLocal reports whether a peer address is on this machine: a loopback IP,
// or a Unix socket (whose peers have no address, "" or "@").
func IsLocal(addr net.Addr) bool {
	if addr == nil {
		return false
	}
	if addr.Network() == "unix" {
		return true
	}
	return IsLocalAddr(addr.String())
}

// IsLocalAddr is IsLocal for an address in its string form, such as an
// http.Request's RemoteAddr.
func IsLocalAddr(addr string) bool {
	if addr == "" || addr == "@" {
		return true // a Unix socket peer
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false
	}
	return ap.Addr().Unmap().IsLoopback()
}
