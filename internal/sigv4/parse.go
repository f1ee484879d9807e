package sigv4

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/tagway/tagway/internal/basictime"
)

// Scope is the parsed credential scope of an Authorization header.
type Scope struct{ AccessKeyID, Date, Region, Service, Terminator string }

const (
	scheme        = "AWS4-HMAC-SHA256"
	terminator    = "aws4_request"
	amzDateLayout = basictime.Layout
	// maxRegionLen is far above the longest AWS region name (about 15
	// bytes); it keeps what the key cache stores small.
	maxRegionLen = 32
)

// authorization is a parsed Authorization header.
type authorization struct {
	scope Scope
	// scopeString is the credential scope as sent, without the access key:
	// date/region/service/aws4_request.
	scopeString string
	// signedHeaders is the SignedHeaders value as sent: valid lower-case
	// names, sorted, joined by ";".
	signedHeaders string
	// signature is 64 lower-case hex digits.
	signature string
}

// ParseAuthorization parses an AWS4-HMAC-SHA256 Authorization header value.
// It checks the syntax only (and that host and x-amz-date are signed), so
// that callers in an unauthenticated mode can learn the region a request was
// signed for; the region is not checked, see ValidRegion. The errors are
// those of Verify: MissingAuthenticationTokenException for "", otherwise
// IncompleteSignatureException.
func ParseAuthorization(h string) (scope Scope, signedHeaders []string, signature string, err *Error) {
	a, err := parseAuthorization(h)
	if err != nil {
		return Scope{}, nil, "", err
	}
	return a.scope, strings.Split(a.signedHeaders, ";"), a.signature, nil
}

// parseAuthorization is ParseAuthorization without the allocation of the
// SignedHeaders list.
func parseAuthorization(h string) (authorization, *Error) {
	if h == "" {
		return authorization{}, missingToken()
	}
	name, params, _ := strings.Cut(h, " ")
	if name != scheme {
		// Nothing of the header is repeated: it may be another scheme's
		// secret, such as a bearer token.
		return authorization{}, incomplete("Authorization header requires the '" + scheme + "' scheme.")
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for rest, more := params, params != ""; more; {
		var part string
		part, rest, more = strings.Cut(rest, ",")
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			sum := sha256.Sum256([]byte(h))
			return authorization{}, incomplete("Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '" +
				base64.StdEncoding.EncodeToString(sum[:]) + "'.")
		}
		var seen *bool
		switch k {
		case "Credential":
			cred, seen = v, &haveCred
		case "SignedHeaders":
			signed, seen = v, &haveSigned
		case "Signature":
			sig, seen = v, &haveSig
		default:
			return authorization{}, incomplete("Authorization header has an unexpected parameter '" + clip(k) + "'.")
		}
		if *seen {
			return authorization{}, incomplete("Authorization header has more than one '" + k + "' parameter.")
		}
		*seen = true
	}
	if !haveCred || !haveSigned || !haveSig {
		return authorization{}, missingParameters(haveCred, cred, haveSigned, signed, haveSig)
	}

	var a authorization
	var ok bool
	if a.scope, ok = parseCredential(cred); !ok {
		return authorization{}, incomplete("Credential is malformed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\", not '" + clip(cred) + "'.")
	}
	a.scopeString = cred[len(a.scope.AccessKeyID)+1:]
	if !validSignedHeaders(signed) {
		return authorization{}, incomplete("SignedHeaders must be lower-case header names, sorted, without duplicates and separated by ';', not '" + clip(signed) + "'.")
	}
	for _, n := range [...]string{"host", "x-amz-date"} {
		if !hasName(signed, n) {
			return authorization{}, mustBeSigned(n)
		}
	}
	a.signedHeaders = signed
	if !validSignature(sig) {
		return authorization{}, incomplete("Signature must be 64 lower-case hexadecimal digits.")
	}
	a.signature = sig
	return a, nil
}

// missingParameters names the parts an Authorization header lacks, AWS
// style, and repeats the header without its signature.
func missingParameters(haveCred bool, cred string, haveSigned bool, signed string, haveSig bool) *Error {
	var msg []string
	for _, p := range []struct {
		have bool
		name string
	}{{haveCred, "Credential"}, {haveSig, "Signature"}, {haveSigned, "SignedHeaders"}} {
		if !p.have {
			msg = append(msg, "Authorization header requires '"+p.name+"' parameter.")
		}
	}
	var echo []string
	if haveCred {
		echo = append(echo, "Credential="+clip(cred))
	}
	if haveSigned {
		echo = append(echo, "SignedHeaders="+clip(signed))
	}
	header := scheme
	if len(echo) > 0 {
		header += " " + strings.Join(echo, ", ")
	}
	return incomplete(strings.Join(msg, " ") + " Authorization=" + header)
}

// parseCredential splits AKID/date/region/service/terminator, none of them
// empty.
func parseCredential(s string) (Scope, bool) {
	var p [5]string
	for i := range 4 {
		var ok bool
		if p[i], s, ok = strings.Cut(s, "/"); !ok {
			return Scope{}, false
		}
	}
	p[4] = s
	for _, x := range p {
		if x == "" || strings.Contains(x, "/") {
			return Scope{}, false
		}
	}
	return Scope{AccessKeyID: p[0], Date: p[1], Region: p[2], Service: p[3], Terminator: p[4]}, true
}

// validSignedHeaders reports whether s is a non-empty, ";"-separated,
// strictly increasing list of lower-case header names.
func validSignedHeaders(s string) bool {
	prev := ""
	for i := 0; ; i++ {
		name, rest, more := strings.Cut(s, ";")
		if !validName(name) || i > 0 && name <= prev {
			return false
		}
		if !more {
			return true
		}
		prev, s = name, rest
	}
}

// validName reports whether s is a header name (an RFC 9110 token) without
// upper-case letters.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// hasName reports whether the SignedHeaders list contains name.
func hasName(list, name string) bool {
	for list != "" {
		var n string
		n, list, _ = strings.Cut(list, ";")
		if n == name {
			return true
		}
	}
	return false
}

// validSignature reports whether s is 64 lower-case hex digits.
func validSignature(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidRegion reports whether s has the shape of an AWS region name:
// lower-case letter groups joined by "-", then "-" and a number, such as
// us-east-1, us-gov-west-1 or eu-isoe-west-1; and at most 32 bytes.
func ValidRegion(s string) bool {
	if len(s) > maxRegionLen {
		return false
	}
	i, groups := 0, 0
	for {
		start := i
		for i < len(s) && 'a' <= s[i] && s[i] <= 'z' {
			i++
		}
		if i == start {
			break
		}
		if i == len(s) || s[i] != '-' {
			return false
		}
		i++
		groups++
	}
	if groups == 0 || i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// requestTime returns the request's X-Amz-Date header and the time it
// names.
func requestTime(values []string) (string, time.Time, *Error) {
	switch len(values) {
	case 0:
		return "", time.Time{}, incomplete("Authorization header requires existence of a 'X-Amz-Date' header.")
	case 1:
	default:
		return "", time.Time{}, incomplete("X-Amz-Date header must be sent only once.")
	}
	s := values[0]
	t, ok := basictime.Parse(s)
	if !ok {
		return "", time.Time{}, incomplete("X-Amz-Date must be in the ISO8601 basic format yyyyMMdd'T'HHmmss'Z', not '" + clip(s) + "'.")
	}
	return s, t, nil
}
