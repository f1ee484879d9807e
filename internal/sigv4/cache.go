package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"

	"github.com/tagway/tagway/internal/hmacpool"
)

// cacheKey is what a signing key depends on.
type cacheKey struct{ accessKeyID, secret, date, region, service string }

// signingKey returns the signing key of secret for date, region and
// service, from the verifier's cache. The secret is part of the cache key,
// so a rotated secret never meets the key derived from the old one.
func (v *Verifier) signingKey(accessKeyID, secret, date, region, service string) *hmacpool.Key {
	return v.keys.Get(cacheKey{accessKeyID, secret, date, region, service}, func() (cacheKey, []byte) {
		key := deriveKey(secret, date, region, service)
		// The parts may be substrings of a large header: keep copies only.
		return cacheKey{strings.Clone(accessKeyID), strings.Clone(secret), strings.Clone(date), strings.Clone(region), strings.Clone(service)}, key[:]
	})
}

// deriveKey returns the SigV4 signing key: HMAC-SHA256 chained from
// "AWS4"+secret over date, region, service and "aws4_request".
func deriveKey(secret, date, region, service string) [sha256.Size]byte {
	k := hmacSum([]byte("AWS4"+secret), date)
	k = hmacSum(k[:], region)
	k = hmacSum(k[:], service)
	return hmacSum(k[:], terminator)
}

// hmacSum returns the HMAC-SHA256 of data under key.
func hmacSum(key []byte, data string) [sha256.Size]byte {
	var sum [sha256.Size]byte
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	m.Sum(sum[:0])
	return sum
}
