// Package pagetoken issues and checks the page tokens of list calls: opaque
// to callers, signed so that only tokens this service issued are accepted,
// bound to the query that issued them, and short-lived.
package pagetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/tagway/tagway/internal/hmacpool"
)

// Errors Decode returns. Each says why a token is refused.
var (
	ErrMalformed    = errors.New("the page token is malformed or was not issued by this service")
	ErrOtherRequest = errors.New("the page token was issued for a different request")
	ErrExpired      = errors.New("the page token has expired")
)

const (
	version  = 1
	macSize  = 16
	hashSize = 16
)

// Codec encodes and decodes tokens with one key.
type Codec struct {
	key *hmacpool.Key
	ttl time.Duration
	now func() time.Time
}

// New returns a Codec that signs with key and accepts tokens for ttl after
// they were issued.
func New(key []byte, ttl time.Duration) *Codec {
	return &Codec{key: hmacpool.NewKey(key), ttl: ttl, now: time.Now}
}

// SetClock replaces the clock, for tests.
func (c *Codec) SetClock(now func() time.Time) { c.now = now }

// TTL returns how long a token stays valid.
func (c *Codec) TTL() time.Duration { return c.ttl }

// Encode returns a token that resumes the query described by query at
// cursor. query is any byte string that identifies the request without its
// paging fields.
func (c *Codec) Encode(query []byte, cursor ...string) string {
	return c.EncodeQuery(HashQuery(query), cursor...)
}

// Query is a request as tokens are bound to it: see HashQuery.
type Query [hashSize]byte

// HashQuery returns the Query of the request query describes, for a caller
// that issues many tokens for one request.
func HashQuery(query []byte) Query {
	h := sha256.Sum256(query)
	return Query(h[:hashSize])
}

// EncodeQuery is Encode for a request's Query.
func (c *Codec) EncodeQuery(q Query, cursor ...string) string {
	n := 1 + 8 + hashSize + macSize
	for _, s := range cursor {
		n += binary.MaxVarintLen64 + len(s)
	}
	b := make([]byte, 0, n)
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, uint64(c.now().Unix()))
	b = append(b, q[:]...)
	for _, s := range cursor {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = c.appendMAC(b, b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode checks token against query and returns its cursor, which has n
// fields.
func (c *Codec) Decode(token string, query []byte, n int) ([]string, error) {
	return c.decode(token, query, n)
}

// DecodeAll is Decode for a cursor of any number of fields.
func (c *Codec) DecodeAll(token string, query []byte) ([]string, error) {
	return c.decode(token, query, -1)
}

// decode is Decode; n < 0 takes every field.
func (c *Codec) decode(token string, query []byte, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1+8+hashSize+macSize || b[0] != version {
		return nil, ErrMalformed
	}
	body, sum := b[:len(b)-macSize], b[len(b)-macSize:]
	var want [sha256.Size]byte
	if !hmac.Equal(sum, c.appendMAC(want[:0], body)) {
		return nil, ErrMalformed
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(body[1:9])), 0)
	if q := HashQuery(query); !hmac.Equal(body[9:9+hashSize], q[:]) {
		return nil, ErrOtherRequest
	}
	if c.now().Sub(issued) > c.ttl {
		return nil, ErrExpired
	}
	rest := body[9+hashSize:]
	cursor := make([]string, 0, max(n, 1))
	for i := 0; i != n && (n >= 0 || len(rest) > 0); i++ {
		l, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < l {
			return nil, ErrMalformed
		}
		cursor = append(cursor, string(rest[k:k+int(l)]))
		rest = rest[k+int(l):]
	}
	if len(rest) != 0 {
		return nil, ErrMalformed
	}
	return cursor, nil
}

// appendMAC appends the MAC of b to dst.
func (c *Codec) appendMAC(dst, b []byte) []byte {
	var sum [sha256.Size]byte
	c.key.Sum(b, &sum)
	return append(dst, sum[:macSize]...)
}
