// Package httpheader looks up HTTP request headers by their lower-case
// names, as request signing schemes list them, without allocating.
package httpheader

import "net/http"

// Values returns the values of h under the canonical MIME form of name, a
// lower-case token, which is how net/http stores header keys. It does not
// allocate for names of up to 64 bytes.
func Values(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h[http.CanonicalHeaderKey(name)]
	}
	k := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		k[i] = c
		upper = c == '-'
	}
	return h[string(k)]
}
