// Package hmacpool keeps HMAC-SHA256 instances ready for reuse, per key:
// setting one up hashes its key twice, which costs more than signing the
// short string a request signature covers.
package hmacpool

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// Key is one HMAC key and its idle instances.
type Key struct {
	macs sync.Pool // of hash.Hash
}

// NewKey returns key ready for use.
func NewKey(key []byte) *Key {
	k := new(Key)
	key = append([]byte(nil), key...)
	k.macs.New = func() any { return hmac.New(sha256.New, key) }
	return k
}

// Sum sets sum to the HMAC-SHA256 of msg under the key.
func (k *Key) Sum(msg []byte, sum *[sha256.Size]byte) {
	m := k.macs.Get().(hash.Hash)
	m.Write(msg)
	m.Sum(sum[:0])
	m.Reset()
	k.macs.Put(m)
}

// MaxKeys bounds a Cache; a full cache is emptied and refilled on use.
const MaxKeys = 1024

// Cache holds Keys by what they derive from. The zero value is empty and
// ready, and safe for concurrent use.
type Cache[K comparable] struct {
	mu sync.RWMutex
	m  map[K]*Key
}

// Get returns the Key cached under k; on a miss it calls derive, which
// returns the key to cache under (a copy of k that holds no part of a large
// buffer) and the HMAC key's bytes.
func (c *Cache[K]) Get(k K, derive func() (K, []byte)) *Key {
	c.mu.RLock()
	key := c.m[k]
	c.mu.RUnlock()
	if key != nil {
		return key
	}
	k, raw := derive()
	key = NewKey(raw)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= MaxKeys {
		c.m = make(map[K]*Key)
	}
	c.m[k] = key
	c.mu.Unlock()
	return key
}

// Len returns the number of cached keys.
func (c *Cache[K]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
