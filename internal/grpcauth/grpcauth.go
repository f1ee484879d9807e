// Package grpcauth authenticates gRPC calls: a bearer token, or the URI SAN
// of a client certificate verified by the TLS handshake, names a principal
// of the auth file. Without an auth file it lets in only callers on this
// machine, unless told otherwise.
package grpcauth

import (
	"context"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/tagging"
)

// ReasonUnauthenticated is the ErrorInfo reason of every error here.
const ReasonUnauthenticated = "UNAUTHENTICATED"

// Authenticator decides who makes a gRPC call.
type Authenticator struct {
	// Principals is the auth file; nil when tagway runs without one.
	Principals *principals.Source
	// AllowRemote lets callers from other machines in without an auth file.
	AllowRemote bool
}

func unauthenticated(msg string) error {
	st, _ := status.New(codes.Unauthenticated, msg).WithDetails(&errdetails.ErrorInfo{
		Reason: ReasonUnauthenticated, Domain: tagging.ErrorDomain, Metadata: map[string]string{"problem": msg},
	})
	return st.Err()
}

// Authenticate returns ctx carrying the call's caller, or an
// UNAUTHENTICATED error.
func (a *Authenticator) Authenticate(ctx context.Context) (context.Context, error) {
	c := identity.Caller{Surface: identity.SurfaceGRPC}
	p, _ := peer.FromContext(ctx)
	if p != nil && p.Addr != nil {
		c.Peer = p.Addr.String()
	}
	if a.Principals == nil {
		if !a.AllowRemote && (p == nil || !identity.IsLocal(p.Addr)) {
			return nil, unauthenticated(identity.OpenModeMessage)
		}
		return identity.NewContext(ctx, c), nil
	}
	set := a.Principals.Current()
	if token, ok, err := bearer(ctx); err != nil {
		return nil, err
	} else if ok {
		pr, found := set.Token(token)
		if !found {
			return nil, unauthenticated("the bearer token is not one of the auth file")
		}
		c.Principal, c.Credential = pr, "bearer token"
		return identity.NewContext(ctx, c), nil
	}
	if p != nil {
		if tlsInfo, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(tlsInfo.State.VerifiedChains) > 0 {
			var seen []string
			for _, u := range tlsInfo.State.PeerCertificates[0].URIs {
				if pr, found := set.Identity(u.String()); found {
					c.Principal, c.Credential = pr, u.String()
					return identity.NewContext(ctx, c), nil
				}
				seen = append(seen, u.String())
			}
			if len(seen) > 0 {
				return nil, unauthenticated("the client certificate's identity " + strings.Join(seen, ", ") + " is not one of the auth file")
			}
			return nil, unauthenticated("the client certificate has no URI SAN to identify it")
		}
	}
	return nil, unauthenticated("the call has no credentials: send the metadata \"authorization: Bearer <token>\" or a client certificate")
}

// bearer returns the call's bearer token, if it sent one.
func bearer(ctx context.Context) (string, bool, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return "", false, nil
	}
	if len(vals) > 1 {
		return "", false, unauthenticated("the call sends more than one authorization value")
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return "", false, unauthenticated("the authorization metadata is not \"Bearer <token>\"")
	}
	return strings.TrimSpace(token), true, nil
}
