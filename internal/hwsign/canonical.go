package hwsign

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tagway/tagway/internal/httpheader"
)

// maxQueryParams mirrors net/url's default limit: beyond it r.URL.Query()
// is empty, so such a query is refused rather than signed differently.
const maxQueryParams = 10000

// appendCanonicalRequest appends the canonical request of r to dst:
//
//	METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash
//
// where CanonicalHeaders ends with its own "\n". signedHeaders must have been
// checked by checkSignedHeaders and its headers found on r.
func appendCanonicalRequest(dst []byte, r *http.Request, signedHeaders string, payloadHash []byte) ([]byte, *Error) {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')

	var path, rawQuery string
	if r.URL != nil {
		path, rawQuery = r.URL.Path, r.URL.RawQuery
	}
	dst = appendCanonicalURI(dst, path)
	dst = append(dst, '\n')

	var e *Error
	if dst, e = appendCanonicalQuery(dst, rawQuery); e != nil {
		return dst, e
	}
	dst = append(dst, '\n')

	for rest := signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		if name == "host" {
			dst = appendHeaderLine(dst, name, r.Host)
			continue
		}
		vals := httpheader.Values(r.Header, name)
		if len(vals) > 1 {
			vals = slices.Clone(vals)
			slices.Sort(vals)
		}
		for _, v := range vals {
			dst = appendHeaderLine(dst, name, v)
		}
	}
	dst = append(dst, '\n')

	dst = append(dst, signedHeaders...)
	dst = append(dst, '\n')
	dst = append(dst, payloadHash...)
	return dst, nil
}

func appendHeaderLine(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':')
	dst = append(dst, strings.TrimSpace(value)...)
	return append(dst, '\n')
}

// appendCanonicalURI appends the decoded path with each segment escaped and a
// trailing "/" added unless the path already ends with one.
func appendCanonicalURI(dst []byte, path string) []byte {
	for i := 0; i < len(path); i++ {
		if c := path[i]; c == '/' {
			dst = append(dst, '/')
		} else {
			dst = appendEscapedByte(dst, c)
		}
	}
	if len(path) == 0 || path[len(path)-1] != '/' {
		dst = append(dst, '/')
	}
	return dst
}

// queryParam is one decoded query parameter.
type queryParam struct{ key, value string }

func compareParams(a, b queryParam) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return strings.Compare(a.value, b.value)
}

// appendCanonicalQuery appends the query decoded as r.URL.Query() decodes it,
// sorted by key then value, each pair written esc(key)=esc(value) and joined
// with "&". A query that url.ParseQuery would refuse in part is refused whole,
// so that no parameter reaches the handler unsigned.
func appendCanonicalQuery(dst []byte, raw string) ([]byte, *Error) {
	if raw == "" {
		return dst, nil
	}
	if strings.Count(raw, "&")+1 > maxQueryParams {
		return dst, fail("the query string has more than 10000 parameters")
	}
	var stack [16]queryParam
	params := stack[:0]
	for rest := raw; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, "&")
		if strings.Contains(kv, ";") {
			return dst, fail("the query string is malformed: it contains a semicolon")
		}
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return dst, fail("the query string is malformed: it has an invalid %-escape")
		}
		params = append(params, queryParam{key, value})
	}
	slices.SortFunc(params, compareParams)
	for i, p := range params {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = appendEscaped(dst, p.key)
		dst = append(dst, '=')
		dst = appendEscaped(dst, p.value)
	}
	return dst, nil
}

// appendEscaped appends s keeping A-Z a-z 0-9 _ - ~ . and writing every other
// byte as %XX with upper-case hex.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = appendEscapedByte(dst, s[i])
	}
	return dst
}

func appendEscapedByte(dst []byte, c byte) []byte {
	const hexDigits = "0123456789ABCDEF"
	if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '~' || c == '.' {
		return append(dst, c)
	}
	return append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
}
