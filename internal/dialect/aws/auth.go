package aws

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/sigv4"
)

// SigningName is the SigV4 service of the API: clients sign for "tagging".
const SigningName = "tagging"

// Auth configures how the dialect learns who sends a request.
type Auth struct {
	// Principals is the auth file; nil when tagway runs without one, and
	// then requests are not verified.
	Principals *principals.Source
	// AllowRemote lets requests from other machines in without an auth
	// file.
	AllowRemote bool
	// MaxSkew bounds how far X-Amz-Date may be from the server's clock; 0
	// means 5 minutes.
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
	verifier *sigv4.Verifier
}

func newAuthenticator(a Auth) *authenticator {
	if a.Now == nil {
		a.Now = time.Now
	}
	au := &authenticator{Auth: a}
	if a.Principals != nil {
		au.verifier = &sigv4.Verifier{
			Service:  SigningName,
			MaxSkew:  a.MaxSkew,
			Required: []string{"x-amz-target"},
			Lookup: func(id string) (sigv4.Credential, bool) {
				_, k, ok := a.Principals.Current().AWSKey(id)
				return sigv4.Credential{Secret: k.Secret, SessionToken: k.SessionToken, Expires: k.ExpiresAt}, ok
			},
		}
	}
	return au
}

// authenticate returns the caller of r and the region it is invoked in (""
// for an unsigned request without an auth file: it sees every region), or
// the error to answer.
func (a *authenticator) authenticate(r *http.Request, body []byte) (identity.Caller, string, *apiError) {
	c := identity.Caller{Surface: identity.SurfaceAWS, Peer: r.RemoteAddr}
	if a.verifier == nil {
		if !a.AllowRemote && !identity.IsLocalAddr(r.RemoteAddr) {
			return c, "", a.refuse(r, "", &sigv4.Error{Code: "UnrecognizedClientException", Message: identity.OpenModeMessage})
		}
		h := r.Header.Get("Authorization")
		if h == "" {
			return c, "", nil
		}
		// Unverified, but a signed request is still scoped to the region it
		// was signed for, which must be one.
		scope, _, _, err := sigv4.ParseAuthorization(h)
		if err == nil && !sigv4.ValidRegion(scope.Region) {
			err = &sigv4.Error{Code: "InvalidSignatureException", Message: "Credential should be scoped to a valid region, not '" + scope.Region + "'."}
		}
		if err != nil {
			return c, "", a.refuse(r, scope.AccessKeyID, err)
		}
		c.Credential = scope.AccessKeyID
		return c, scope.Region, nil
	}
	res, err := a.verifier.Verify(r, body, a.Now())
	if err != nil {
		scope, _, _, _ := sigv4.ParseAuthorization(r.Header.Get("Authorization"))
		return c, "", a.refuse(r, scope.AccessKeyID, err)
	}
	p, _, ok := a.Principals.Current().AWSKey(res.AccessKeyID)
	if !ok { // removed by a reload since Verify looked it up
		return c, "", a.refuse(r, res.AccessKeyID, &sigv4.Error{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."})
	}
	c.Principal, c.Credential = p, res.AccessKeyID
	return c, res.Region, nil
}

// refuse logs a refused request (never a secret: the access key id is not
// one) and returns its error.
func (a *authenticator) refuse(r *http.Request, keyID string, err *sigv4.Error) *apiError {
	if a.Log != nil {
		a.Log.Info("request refused: authentication failed", "surface", identity.SurfaceAWS, "peer", r.RemoteAddr, "access_key_id", keyID, "error", err.Code, "reason", err.Message)
	}
	return &apiError{Type: err.Code, Status: http.StatusBadRequest, Message: err.Message}
}
