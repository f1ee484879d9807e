package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"strings"
	"sync"
)

// maxCachedKeys bounds the derived-key cache. A full cache is emptied: a
// key is derived again at the cost of four HMACs.
const maxCachedKeys = 1024

// keyCache holds derived signing keys. The secret is part of the cache key,
// so a rotated secret never meets the key derived from the old one. The
// zero value is empty and ready.
type keyCache struct {
	mu sync.RWMutex
	m  map[cacheKey]*signingKey
}

// cacheKey is what a signing key depends on, and the key it was looked up
// under.
type cacheKey struct{ accessKeyID, secret, date, region, service string }

// get returns the signing key of secret for date, region and service.
func (c *keyCache) get(accessKeyID, secret, date, region, service string) *signingKey {
	k := cacheKey{accessKeyID, secret, date, region, service}
	c.mu.RLock()
	key := c.m[k]
	c.mu.RUnlock()
	if key != nil {
		return key
	}
	key = newSigningKey(deriveKey(secret, date, region, service))
	// The parts may be substrings of a large header: keep copies only.
	k = cacheKey{strings.Clone(accessKeyID), strings.Clone(secret), strings.Clone(date), strings.Clone(region), strings.Clone(service)}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[cacheKey]*signingKey)
	}
	c.m[k] = key
	c.mu.Unlock()
	return key
}

// len returns the number of cached keys.
func (c *keyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
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

// signingKey is a derived signing key. It keeps HMACs keyed with it for
// reuse, since setting one up costs more than signing a request.
type signingKey struct {
	macs sync.Pool // of hash.Hash
}

// newSigningKey returns key ready for use.
func newSigningKey(key [sha256.Size]byte) *signingKey {
	k := new(signingKey)
	k.macs.New = func() any { return hmac.New(sha256.New, key[:]) }
	return k
}

// sum sets sum to the HMAC-SHA256 of msg under the key.
func (k *signingKey) sum(msg []byte, sum *[sha256.Size]byte) {
	m := k.macs.Get().(hash.Hash)
	m.Write(msg)
	m.Sum(sum[:0])
	m.Reset()
	k.macs.Put(m)
}
