package hwsign

import (
	"crypto/sha256"
	"strings"
)

// Limits on the parts of the Authorization header.
const (
	maxAccessKey     = 128
	maxSignedHeaders = 64
)

// authorization is a parsed Authorization header.
type authorization struct {
	access        string
	signedHeaders string // verbatim, validated
	signature     [sha256.Size]byte
}

// signs reports whether name is in SignedHeaders.
func (a *authorization) signs(name string) bool {
	for rest := a.signedHeaders; rest != ""; {
		var n string
		n, rest, _ = strings.Cut(rest, ";")
		if n == name {
			return true
		}
	}
	return false
}

// parseAuthorization parses the values of the Authorization header:
//
//	SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b>, Signature=<64 hex>
//
// The parts may come in any order and be separated by commas with optional
// spaces; each must appear once.
func parseAuthorization(values []string) (authorization, *Error) {
	var a authorization
	switch len(values) {
	case 0:
		return a, fail(msgNoAuthorization)
	case 1:
	default:
		return a, fail("the request has more than one Authorization header")
	}
	s := strings.TrimSpace(values[0])
	if s == "" {
		return a, fail("the Authorization header is empty")
	}
	scheme, rest, _ := strings.Cut(s, " ")
	if scheme != Algorithm {
		return a, fail("the signing algorithm " + bounded(scheme) + " is not supported; only " + Algorithm + " is")
	}
	var haveAccess, haveSignedHeaders, haveSignature bool
	if rest = strings.Trim(rest, " "); rest != "" {
		for more := true; more; {
			var part string
			part, rest, more = strings.Cut(rest, ",")
			part = strings.Trim(part, " ")
			if part == "" {
				return a, fail("the Authorization header has an empty part")
			}
			name, val, ok := strings.Cut(part, "=")
			if !ok {
				return a, fail("the Authorization header has a part without '=': " + bounded(part))
			}
			switch name {
			case "Access":
				if haveAccess {
					return a, fail("the Authorization header has more than one Access")
				}
				if !validAccessKey(val) {
					return a, fail("the Authorization header has a malformed Access: it must be 1 to 128 printable ASCII characters")
				}
				a.access, haveAccess = val, true
			case "SignedHeaders":
				if haveSignedHeaders {
					return a, fail("the Authorization header has more than one SignedHeaders")
				}
				if msg := checkSignedHeaders(val); msg != "" {
					return a, fail("the Authorization header has malformed SignedHeaders: " + msg)
				}
				a.signedHeaders, haveSignedHeaders = val, true
			case "Signature":
				if haveSignature {
					return a, fail("the Authorization header has more than one Signature")
				}
				if !decodeSignature(&a.signature, val) {
					return a, fail("the Authorization header has a malformed Signature: it must be 64 lower-case hex digits")
				}
				haveSignature = true
			default:
				return a, fail("the Authorization header has an unknown part " + bounded(name))
			}
		}
	}
	switch {
	case !haveAccess:
		return a, fail("the Authorization header has no Access")
	case !haveSignedHeaders:
		return a, fail("the Authorization header has no SignedHeaders")
	case !haveSignature:
		return a, fail("the Authorization header has no Signature")
	}
	return a, nil
}

// validAccessKey reports whether s is 1 to maxAccessKey printable ASCII
// characters other than space; an access key is echoed in messages.
func validAccessKey(s string) bool {
	if s == "" || len(s) > maxAccessKey {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// checkSignedHeaders returns why s is not a valid SignedHeaders value, or "".
// A valid value is 1 to maxSignedHeaders distinct lower-case header names
// separated by ';'. The names are safe to echo in messages.
func checkSignedHeaders(s string) string {
	if s == "" {
		return "it is empty"
	}
	if strings.Count(s, ";") >= maxSignedHeaders {
		return "it lists more than 64 headers"
	}
	for start, rest := 0, s; ; {
		name, after, more := strings.Cut(rest, ";")
		if name == "" {
			return "it has an empty name"
		}
		for j := 0; j < len(name); j++ {
			if !lowerTokenByte(name[j]) {
				return "the name " + bounded(name) + " is not a lower-case header name"
			}
		}
		for prev := s[:start]; prev != ""; {
			var p string
			p, prev, _ = strings.Cut(prev, ";")
			if p == name {
				return "it lists " + name + " more than once"
			}
		}
		if !more {
			break
		}
		start += len(name) + 1
		rest = after
	}
	return ""
}

// lowerTokenByte reports whether c may appear in a lower-case HTTP header
// name (an RFC 9110 token without upper-case letters).
func lowerTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// decodeSignature decodes s, which must be 64 lower-case hex digits, into dst.
func decodeSignature(dst *[sha256.Size]byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := lowerHex(s[2*i])
		lo, ok2 := lowerHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
