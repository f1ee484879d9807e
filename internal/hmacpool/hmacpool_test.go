package hmacpool

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
)

func TestSumMatchesHMAC(t *testing.T) {
	var c Cache[string]
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				secret := fmt.Sprint("k", (g+i)%5)
				k := c.Get(secret, func() (string, []byte) { return secret, []byte(secret) })
				msg := []byte(fmt.Sprint("message ", i))
				var got [sha256.Size]byte
				k.Sum(msg, &got)
				m := hmac.New(sha256.New, []byte(secret))
				m.Write(msg)
				if !hmac.Equal(got[:], m.Sum(nil)) {
					t.Errorf("Sum under %s differs from crypto/hmac", secret)
					return
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() != 5 {
		t.Fatalf("%d keys cached, want 5", c.Len())
	}
	for i := range MaxKeys + 1 {
		s := fmt.Sprint("many", i)
		c.Get(s, func() (string, []byte) { return s, []byte(s) })
	}
	if c.Len() > MaxKeys {
		t.Fatalf("%d keys cached, more than %d", c.Len(), MaxKeys)
	}
}
