package huawei

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tagway/tagway/internal/hwsign"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/principals"
)

// CodeAuth is the error code of every authentication failure.
const CodeAuth = "APIGW.0301"

// Auth configures how the dialect learns who sends a request.
type Auth struct {
	// Principals is the auth file; nil when tagway runs without one, and
	// then requests are not verified.
	Principals *principals.Source
	// AllowRemote lets requests from other machines in without an auth
	// file.
	AllowRemote bool
	// MaxSkew bounds how far X-Sdk-Date may be from the server's clock; 0
	// means 15 minutes.
	MaxSkew time.Duration
	// Now returns the time; nil means time.Now.
	Now func() time.Time
	// Log receives a line per refused request; nil logs nothing.
	Log *slog.Logger
	// Refused, if set, hears of each request refused for authentication
	// (for the audit trail): what is known of the caller, and why.
	Refused func(ctx context.Context, c identity.Caller, err error)
}

// authenticator verifies requests as configured.
type authenticator struct {
	Auth
	verifier *hwsign.Verifier
}

func newAuthenticator(a Auth) *authenticator {
	if a.Now == nil {
		a.Now = time.Now
	}
	au := &authenticator{Auth: a}
	if a.Principals != nil {
		au.verifier = &hwsign.Verifier{
			MaxSkew: a.MaxSkew,
			Lookup: func(ak string) (hwsign.Credential, bool) {
				_, k, ok := a.Principals.Current().HuaweiKey(ak)
				return hwsign.Credential{SecretKey: k.SK, SecurityToken: k.SecurityToken}, ok
			},
		}
	}
	return au
}

// authenticate returns the caller of r, or the error to answer.
func (a *authenticator) authenticate(r *http.Request, body []byte) (identity.Caller, *apiError) {
	c := identity.Caller{Surface: identity.SurfaceHuawei, Peer: r.RemoteAddr}
	if a.verifier == nil {
		if !a.AllowRemote && !identity.IsLocalAddr(r.RemoteAddr) {
			return c, a.refuse(r, "", identity.OpenModeMessage)
		}
		return c, nil
	}
	res, err := a.verifier.Verify(r, body, a.Now())
	if err != nil {
		return c, a.refuse(r, "", err.Message)
	}
	p, _, ok := a.Principals.Current().HuaweiKey(res.AccessKey)
	if !ok { // removed by a reload since Verify looked it up
		return c, a.refuse(r, res.AccessKey, "verify aksk signature fail: the access key "+res.AccessKey+" does not exist")
	}
	if d := r.Header.Get("X-Domain-Id"); d != "" && d != p.Huawei.DomainID {
		return c, a.refuse(r, res.AccessKey, "X-Domain-Id "+d+" is not the account of the access key")
	}
	c.Principal, c.Credential = p, res.AccessKey
	return c, nil
}

// refuse logs a refused request (never a secret: the access key is not one)
// and returns its error.
func (a *authenticator) refuse(r *http.Request, ak, reason string) *apiError {
	if a.Log != nil {
		a.Log.Info("request refused: authentication failed", "surface", identity.SurfaceHuawei, "peer", r.RemoteAddr, "access_key", ak, "reason", reason)
	}
	return &apiError{Status: http.StatusUnauthorized, Code: CodeAuth, Message: "Incorrect IAM authentication information: " + reason}
}

// domainOf returns the account whose organization a call acts on: that of
// its principal, or none without an auth file.
func domainOf(ctx context.Context) string {
	if c, ok := identity.FromContext(ctx); ok && c.Principal != nil && c.Principal.Huawei != nil {
		return c.Principal.Huawei.DomainID
	}
	return ""
}
