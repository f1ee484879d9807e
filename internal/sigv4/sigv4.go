// Package sigv4 verifies AWS Signature Version 4 signatures on the server side.
//
// It accepts requests signed in the Authorization header with
// AWS4-HMAC-SHA256, the way AWS JSON services such as the Resource Groups
// Tagging API receive them from the AWS SDKs and the CLI, and names its
// failures as those services do.
//
// Threat model. A request that passes Verify was signed by a holder of the
// secret of its access key (and, for temporary credentials, presented the
// matching session token), no more than MaxSkew away from the verifier's
// clock. Its method, path, query, body and the values of every header named
// in SignedHeaders are as the signer sent them, and so is the credential
// scope, which fixes the service and the region the call is made in (Verify
// checks only that the region is shaped like one; whether it is served is
// the caller's decision). Verify does not stop replay: a captured request can be sent again, unchanged,
// until it leaves the skew window. Headers outside SignedHeaders are not
// covered and may have been added or changed in transit; Verifier.Required
// names the headers that must be signed. Some differences are invisible to
// the signature by construction: the order of repeated query parameters, a
// header sent as several lines versus one comma-joined line, and whitespace
// that canonicalization removes. Error messages never carry the secret, the
// session token or the expected signature.
package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/tagway/tagway/internal/hmacpool"
)

// Credential is what the server knows about one access key.
type Credential struct {
	Secret string
	// SessionToken is "" when the key is permanent; otherwise the request's
	// X-Amz-Security-Token must equal it.
	SessionToken string
	// Expires is when the key stops being accepted; zero means never. Past
	// it the key is refused with ExpiredTokenException.
	Expires time.Time
}

// Verifier checks requests for one signing name. Set its exported fields
// before the first call to Verify and do not copy it afterwards; Verify is
// safe for concurrent use.
type Verifier struct {
	// Service is the signing name, e.g. "tagging".
	Service string
	// MaxSkew is the allowed |now - X-Amz-Date|; 0 (or less) means 5 minutes.
	MaxSkew time.Duration
	// Required lists header names (lower case) that must be signed besides
	// host and x-amz-date, e.g. "x-amz-target".
	Required []string
	// Lookup returns the credential of an access key id, and false when the
	// key is unknown.
	Lookup func(accessKeyID string) (Credential, bool)

	keys hmacpool.Cache[cacheKey]
}

// Result describes a verified request.
type Result struct {
	AccessKeyID string
	// Region is the region of the credential scope: the region the call is
	// invoked in.
	Region string
	// Time is the request's X-Amz-Date.
	Time time.Time
}

// defaultMaxSkew is the skew allowed when Verifier.MaxSkew is not set.
const defaultMaxSkew = 5 * time.Minute

// Verify checks r, whose body is body (already read by the caller; r.Body is
// not read), at time now. r must look as net/http's server hands it to a
// handler: the host in r.Host and header keys in canonical form.
//
// The checks run in this order, and the first failure is returned: the
// Authorization header (IncompleteSignatureException, or
// MissingAuthenticationTokenException when it is absent), X-Amz-Date
// (IncompleteSignatureException), the credential scope
// (InvalidSignatureException), the access key and session token
// (UnrecognizedClientException, ExpiredTokenException), the clock skew, the
// presence of every signed header and the signature itself
// (InvalidSignatureException).
func (v *Verifier) Verify(r *http.Request, body []byte, now time.Time) (Result, *Error) {
	values := r.Header[hAuthorization]
	if len(values) == 0 || len(values) == 1 && values[0] == "" {
		return Result{}, missingToken()
	}
	if len(values) > 1 {
		return Result{}, incomplete("Authorization header must be sent only once.")
	}
	a, err := parseAuthorization(values[0])
	if err != nil {
		return Result{}, err
	}
	for _, name := range v.Required {
		if !hasName(a.signedHeaders, name) {
			return Result{}, mustBeSigned(name)
		}
	}
	_, hasToken := r.Header[hSecurityToken]
	if hasToken && !hasName(a.signedHeaders, "x-amz-security-token") {
		return Result{}, mustBeSigned("x-amz-security-token")
	}

	amzDate, t, err := requestTime(r.Header[hAmzDate])
	if err != nil {
		return Result{}, err
	}
	if err := v.checkScope(a.scope, amzDate); err != nil {
		return Result{}, err
	}

	if v.Lookup == nil {
		return Result{}, unrecognized()
	}
	cred, ok := v.Lookup(a.scope.AccessKeyID)
	if !ok {
		return Result{}, unrecognized()
	}
	if cred.SessionToken == "" && hasToken {
		return Result{}, unrecognized()
	}
	if cred.SessionToken != "" {
		token := r.Header[hSecurityToken]
		if len(token) != 1 || subtle.ConstantTimeCompare([]byte(token[0]), []byte(cred.SessionToken)) != 1 {
			return Result{}, unrecognized()
		}
	}
	if !cred.Expires.IsZero() && now.After(cred.Expires) {
		return Result{}, &Error{Code: codeExpiredToken, Message: "The security token included in the request is expired"}
	}

	if err := v.checkSkew(t, now); err != nil {
		return Result{}, err
	}

	digest, ok := canonicalRequestHash(r, body, a.signedHeaders)
	if !ok {
		return Result{}, mismatch()
	}
	key := v.signingKey(a.scope.AccessKeyID, cred.Secret, a.scope.Date, a.scope.Region, v.Service)
	var sts [stringToSignMax]byte
	var mac [sha256.Size]byte
	key.Sum(appendStringToSign(sts[:0], amzDate, a.scopeString, digest), &mac)
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], mac[:])
	if subtle.ConstantTimeCompare(want[:], []byte(a.signature)) != 1 {
		return Result{}, mismatch()
	}
	return Result{AccessKeyID: a.scope.AccessKeyID, Region: a.scope.Region, Time: t}, nil
}

// checkScope checks the credential scope against the verifier and the
// request time.
func (v *Verifier) checkScope(s Scope, amzDate string) *Error {
	switch {
	case s.Terminator != terminator:
		return invalid("Credential should be scoped with a valid terminator: 'aws4_request', not '" + clip(s.Terminator) + "'.")
	case s.Service != v.Service:
		return invalid("Credential should be scoped to correct service: '" + v.Service + "'.")
	case !ValidRegion(s.Region):
		return invalid("Credential should be scoped to a valid region, not '" + clip(s.Region) + "'.")
	case s.Date != amzDate[:8]:
		return invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			clip(s.Date) + "' != '" + amzDate[:8] + "', from '" + amzDate + "'.")
	}
	return nil
}

// checkSkew checks that the request time t is within the allowed skew of
// now.
func (v *Verifier) checkSkew(t, now time.Time) *Error {
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultMaxSkew
	}
	now = now.UTC().Truncate(time.Second)
	switch {
	case t.Before(now.Add(-skew)):
		return invalid("Signature expired: " + t.Format(amzDateLayout) + " is now earlier than " +
			now.Add(-skew).Format(amzDateLayout) + " (" + now.Format(amzDateLayout) + " - " + minutes(skew) + " min.)")
	case t.After(now.Add(skew)):
		return invalid("Signature not yet current: " + t.Format(amzDateLayout) + " is still later than " +
			now.Add(skew).Format(amzDateLayout) + " (" + now.Format(amzDateLayout) + " + " + minutes(skew) + " min.)")
	}
	return nil
}

// Header keys as net/http's server stores them.
const (
	hAuthorization = "Authorization"
	hAmzDate       = "X-Amz-Date"
	hSecurityToken = "X-Amz-Security-Token"
)

// stringToSignMax bounds the string to sign for the usual scope lengths;
// a longer one just grows onto the heap.
const stringToSignMax = 192

// appendStringToSign appends the string to sign of a request to b.
func appendStringToSign(b []byte, amzDate, scope string, digest [sha256.Size]byte) []byte {
	b = append(b, scheme...)
	b = append(b, '\n')
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, scope...)
	b = append(b, '\n')
	return hex.AppendEncode(b, digest[:])
}
