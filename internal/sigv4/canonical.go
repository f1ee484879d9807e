package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tagway/tagway/internal/httpheader"
)

// canonicalRequestSize is the room set aside for a canonical request on the
// stack; a longer one grows onto the heap.
const canonicalRequestSize = 1024

// canonicalRequestHash returns the SHA-256 of the canonical request of r with
// body, for the signed header names in signedHeaders. It returns false when
// r lacks a signed header or has a query that does not decode: no signature
// can match such a request.
func canonicalRequestHash(r *http.Request, body []byte, signedHeaders string) ([sha256.Size]byte, bool) {
	if r.URL == nil {
		return [sha256.Size]byte{}, false
	}
	b := make([]byte, 0, canonicalRequestSize)
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendPath(b, r.URL.EscapedPath())
	b = append(b, '\n')
	b, ok := appendQuery(b, r.URL.RawQuery)
	if !ok {
		return [sha256.Size]byte{}, false
	}
	b = append(b, '\n')
	for rest := signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		b = append(b, name...)
		b = append(b, ':')
		if b, ok = appendHeader(b, r, name); !ok {
			return [sha256.Size]byte{}, false
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, signedHeaders...)
	b = append(b, '\n')
	payload := sha256.Sum256(body)
	b = hex.AppendEncode(b, payload[:])
	return sha256.Sum256(b), true
}

// appendPath appends the canonical URI of a request whose escaped path is p:
// p URI-encoded once more, keeping "/", as the AWS SDKs sign it for services
// other than S3.
func appendPath(b []byte, p string) []byte {
	if p == "" {
		return append(b, '/')
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c == '/' || unreserved(c) {
			b = append(b, c)
		} else {
			b = appendEscaped(b, c)
		}
	}
	return b
}

// appendQuery appends the canonical query of the raw query q: its
// parameters decoded, URI-encoded, sorted by name and then value. It returns
// false when a parameter does not decode.
func appendQuery(b []byte, q string) ([]byte, bool) {
	if q == "" {
		return b, true
	}
	type param struct{ name, value string }
	var params []param
	for q != "" {
		var p string
		p, q, _ = strings.Cut(q, "&")
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return b, false
		}
		params = append(params, param{encode(k), encode(v)})
	}
	slices.SortFunc(params, func(x, y param) int {
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		return strings.Compare(x.value, y.value)
	})
	for i, p := range params {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.name...)
		b = append(b, '=')
		b = append(b, p.value...)
	}
	return b, true
}

// encode URI-encodes every byte of s but the unreserved ones.
func encode(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; unreserved(c) {
			b = append(b, c)
		} else {
			b = appendEscaped(b, c)
		}
	}
	return string(b)
}

// unreserved reports whether c is an RFC 3986 unreserved character.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// appendEscaped appends c percent-encoded with upper-case hex digits.
func appendEscaped(b []byte, c byte) []byte {
	const hexUpper = "0123456789ABCDEF"
	return append(b, '%', hexUpper[c>>4], hexUpper[c&15])
}

// appendHeader appends the canonical value of the signed header name. It
// returns false when the request does not have that header. net/http's
// server keeps some headers out of r.Header: host is read from r.Host,
// content-length falls back to r.ContentLength, transfer-encoding to
// r.TransferEncoding, and expect, which the server may consume, to the only
// value it accepts.
func appendHeader(b []byte, r *http.Request, name string) ([]byte, bool) {
	if name == "host" {
		if r.Host == "" {
			return b, false
		}
		return appendValue(b, r.Host), true
	}
	values := httpheader.Values(r.Header, name)
	if len(values) == 0 {
		switch name {
		case "content-length":
			if r.ContentLength < 0 {
				return b, false
			}
			return strconv.AppendInt(b, r.ContentLength, 10), true
		case "transfer-encoding":
			values = r.TransferEncoding
		case "expect":
			return append(b, "100-continue"...), true
		}
		if len(values) == 0 {
			return b, false
		}
	}
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, v)
	}
	return b, true
}

// appendValue appends v trimmed of spaces and tabs, with each inner run of
// them replaced by one space.
func appendValue(b []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	space := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == ' ' || c == '\t':
			space = true
		default:
			if space {
				b = append(b, ' ')
				space = false
			}
			b = append(b, c)
		}
	}
	return b
}
