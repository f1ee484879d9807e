// Package hwsign verifies Huawei Cloud SDK-HMAC-SHA256 (AK/SK) request
// signatures on the server side, so that tagway can serve the unmodified
// Huawei Cloud Go SDK.
//
// Threat model. A request that verifies was signed by a holder of the access
// key's secret key, and its method, decoded path, decoded query, the headers
// named in SignedHeaders and its body are the ones that were signed, within
// MaxSkew of the signing time. With a temporary credential the security token
// is also bound to the signature.
//
// It does not protect against:
//   - replay: a captured request verifies again, unchanged, until its
//     X-Sdk-Date leaves the skew window;
//   - changes to unsigned headers: Content-Type, which the SDK never signs,
//     and any header not listed in SignedHeaders, such as Host,
//     Content-Length and Accept-Encoding, which the Go SDK does not list;
//   - changes that keep the canonical form: the path is signed decoded, with a
//     trailing "/" added, so /a/b, /a%2Fb and /a/b/ sign alike, and the query
//     is signed decoded and sorted, so its order and spelling on the wire are
//     free. Handlers must therefore read r.URL.Path and r.URL.Query(), never
//     the raw forms, and must not give a trailing "/" a meaning of its own.
//
// The caller reads the body, bounding its size, before calling Verify.
package hwsign

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tagway/tagway/internal/basictime"
	"github.com/tagway/tagway/internal/hmacpool"
	"github.com/tagway/tagway/internal/httpheader"
)

// Algorithm is the only Authorization scheme Verify accepts.
const Algorithm = "SDK-HMAC-SHA256"

// DateLayout is the layout of the X-Sdk-Date header.
const DateLayout = basictime.Layout

// DefaultMaxSkew is the allowed |now - X-Sdk-Date| when Verifier.MaxSkew is 0;
// it is the Huawei API gateway's rule.
const DefaultMaxSkew = 15 * time.Minute

// Credential is what the server knows about one access key.
type Credential struct {
	SecretKey     string
	SecurityToken string // "" when permanent; otherwise X-Security-Token must be present, signed, and equal to it
}

// Verifier checks requests. Its fields must not change while Verify runs;
// Verify itself is safe for concurrent use.
type Verifier struct {
	MaxSkew time.Duration // allowed |now - X-Sdk-Date|; 0 (or less) means 15 minutes
	// Lookup returns the credential of an access key. A nil Lookup, or a
	// credential with an empty SecretKey, makes every access key unknown.
	Lookup func(accessKey string) (Credential, bool)

	macs hmacpool.Cache[string] // by secret key
}

// Result describes a verified request.
type Result struct {
	AccessKey string
	Time      time.Time // X-Sdk-Date
}

// Error is a verification failure. Callers answer it with HTTP 401 and
// error_code APIGW.0301, error_msg "Incorrect IAM authentication information: "
// + Message.
type Error struct {
	Message string // says which check failed; never contains the secret key, the token or the expected signature
}

// Error returns the message prefixed with the package name.
func (e *Error) Error() string { return "hwsign: " + e.Message }

func fail(msg string) *Error { return &Error{Message: msg} }

// Header names, in canonical MIME form as net/http stores them.
const (
	hAuthorization = "Authorization"
	hDate          = "X-Sdk-Date"
	hToken         = "X-Security-Token"
	hContentSHA256 = "X-Sdk-Content-Sha256"
)

const unsignedPayload = "UNSIGNED-PAYLOAD"

// Messages of failures that do not depend on the request.
const (
	msgNoAuthorization = "the request is not signed: the Authorization header is missing"
	msgBadToken        = "the security token is missing, unsigned or does not match the access key"
	msgBadSignature    = "verify aksk signature fail: the signature does not match; check the secret key and the signing method"
)

// Verify checks r, whose body is body (already read by the caller; Verify
// does not read r.Body), at time now. It returns a nil *Error when r is
// correctly signed; keep the result typed, since a nil *Error stored in an
// error variable is not a nil error.
//
// The checks run in this order: the Authorization header, X-Sdk-Date, the
// access key, the security token, the presence of the signed headers, the
// payload hash, the signature.
func (v *Verifier) Verify(r *http.Request, body []byte, now time.Time) (Result, *Error) {
	a, e := parseAuthorization(r.Header[hAuthorization])
	if e != nil {
		return Result{}, e
	}

	// X-Sdk-Date: signed, single, well formed and recent.
	if !a.signs("x-sdk-date") {
		return Result{}, fail("x-sdk-date is not in SignedHeaders")
	}
	dates := r.Header[hDate]
	switch {
	case len(dates) == 0:
		return Result{}, fail("the X-Sdk-Date header is missing")
	case len(dates) > 1:
		return Result{}, fail("the request has more than one X-Sdk-Date header")
	}
	date := dates[0]
	t, ok := basictime.Parse(date)
	if !ok {
		return Result{}, fail("X-Sdk-Date " + bounded(date) + " is not of the form " + DateLayout)
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if d := now.Sub(t); d > skew || d < -skew {
		return Result{}, fail("X-Sdk-Date " + date + " is more than " + describe(skew) + " from the server's time")
	}

	// The access key.
	var cred Credential
	ok = false
	if v.Lookup != nil {
		cred, ok = v.Lookup(a.access)
	}
	if !ok || cred.SecretKey == "" {
		return Result{}, fail("verify aksk signature fail: the access key " + a.access + " does not exist")
	}

	// The security token.
	tokens := r.Header[hToken]
	if cred.SecurityToken != "" {
		if len(tokens) != 1 || !a.signs("x-security-token") ||
			subtle.ConstantTimeCompare([]byte(tokens[0]), []byte(cred.SecurityToken)) != 1 {
			return Result{}, fail(msgBadToken)
		}
	} else if len(tokens) != 0 || a.signs("x-security-token") {
		return Result{}, fail(msgBadToken)
	}

	// Every signed header is on the request, with no line break inside a value.
	for rest := a.signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		if name == "host" {
			if r.Host == "" {
				return Result{}, fail("the signed header host is missing from the request")
			}
			if strings.Contains(strings.TrimSpace(r.Host), "\n") {
				return Result{}, fail("the signed header host has a line break in its value")
			}
			continue
		}
		vals := httpheader.Values(r.Header, name)
		if len(vals) == 0 {
			return Result{}, fail("the signed header " + name + " is missing from the request")
		}
		for _, val := range vals {
			if strings.Contains(strings.TrimSpace(val), "\n") {
				return Result{}, fail("the signed header " + name + " has a line break in its value")
			}
		}
	}

	// The payload hash: always that of the body as received.
	var payload [sha256.Size * 2]byte
	sum := sha256.Sum256(body)
	hex.Encode(payload[:], sum[:])
	if declared := r.Header[hContentSHA256]; len(declared) != 0 {
		switch {
		case len(declared) > 1:
			return Result{}, fail("the request has more than one X-Sdk-Content-Sha256 header")
		case declared[0] == unsignedPayload:
			return Result{}, fail("unsigned payloads are not accepted: X-Sdk-Content-Sha256 is UNSIGNED-PAYLOAD")
		case declared[0] != string(payload[:]):
			return Result{}, fail("X-Sdk-Content-Sha256 does not match the SHA-256 of the body")
		}
	}

	// The signature.
	buf := make([]byte, 0, 1024)
	buf, e = appendCanonicalRequest(buf, r, a.signedHeaders, payload[:])
	if e != nil {
		return Result{}, e
	}
	crHash := sha256.Sum256(buf)
	// The string to sign has its own small buffer: it escapes into the HMAC,
	// and the canonical request's buffer can then stay on the stack.
	var stsBuf [len(Algorithm) + 1 + len(DateLayout) + 1 + 2*sha256.Size]byte
	sts := append(stsBuf[:0], Algorithm+"\n"...)
	sts = append(sts, date...)
	sts = append(sts, '\n')
	sts = hex.AppendEncode(sts, crHash[:])
	var mac [sha256.Size]byte
	v.macs.Get(cred.SecretKey, func() (string, []byte) {
		return strings.Clone(cred.SecretKey), []byte(cred.SecretKey)
	}).Sum(sts, &mac)
	if subtle.ConstantTimeCompare(mac[:], a.signature[:]) != 1 {
		return Result{}, fail(msgBadSignature)
	}
	return Result{AccessKey: a.access, Time: t}, nil
}

// describe renders a skew for a message: "15 minutes", "1 minute", "1m30s".
func describe(d time.Duration) string {
	if d%time.Minute == 0 {
		if n := d / time.Minute; n != 1 {
			return strconv.FormatInt(int64(n), 10) + " minutes"
		}
		return "1 minute"
	}
	return d.String()
}

// bounded quotes a request-supplied string for a message, cutting it short.
func bounded(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
