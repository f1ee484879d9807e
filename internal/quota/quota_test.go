package quota

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/operation"
	"github.com/tagway/tagway/internal/redistest"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLocal(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := NewLocal()
	l.now = clock.now
	q := New(AWS, l)
	ctx := context.Background()
	// A burst of 5 UntagResources passes, the 6th waits 200 ms.
	for i := range 5 {
		if r := q.Take(ctx, "a", nil, operation.UntagResources); !r.Allowed {
			t.Fatalf("call %d refused: %+v", i, r)
		}
	}
	r := q.Take(ctx, "a", nil, operation.UntagResources)
	if r.Allowed || r.RetryAfter != 200*time.Millisecond || r.Limit != 5 {
		t.Fatalf("6th call: %+v, want refused for 200ms under a limit of 5", r)
	}
	// Other principals and operations count apart.
	if r := q.Take(ctx, "b", nil, operation.UntagResources); !r.Allowed {
		t.Fatalf("another principal refused: %+v", r)
	}
	if r := q.Take(ctx, "a", nil, operation.ListResources); !r.Allowed {
		t.Fatalf("another operation refused: %+v", r)
	}
	// A refused call does not use up the next slot.
	clock.t = clock.t.Add(200 * time.Millisecond)
	if r := q.Take(ctx, "a", nil, operation.UntagResources); !r.Allowed {
		t.Fatalf("after the wait: %+v", r)
	}
	// Overrides: a higher limit, and none.
	for i := range 50 {
		if r := q.Take(ctx, "c", map[string]int{operation.UntagResources: 50}, operation.UntagResources); !r.Allowed {
			t.Fatalf("call %d under an override of 50 refused", i)
		}
		if r := q.Take(ctx, "d", map[string]int{operation.UntagResources: 0}, operation.UntagResources); !r.Allowed || r.Limit != 0 {
			t.Fatalf("call %d without a limit: %+v", i, r)
		}
	}
	// No defaults (--rate-limits off): only overrides apply.
	off := New(nil, l)
	for range 100 {
		if r := off.Take(ctx, "e", nil, operation.UntagResources); !r.Allowed {
			t.Fatal("refused with limits off")
		}
	}
	if r := off.Take(ctx, "f", map[string]int{operation.TagResources: 1}, operation.TagResources); !r.Allowed {
		t.Fatal("first call refused")
	}
	if r := off.Take(ctx, "f", map[string]int{operation.TagResources: 1}, operation.TagResources); r.Allowed {
		t.Fatal("an override was not applied with limits off")
	}
}

func TestLocalBounded(t *testing.T) {
	l := NewLocal()
	ctx := context.Background()
	for i := range maxLocalKeys + 10 {
		l.Allow(ctx, "k"+string(rune(i)), 5)
	}
	if n := len(l.buckets); n > maxLocalKeys {
		t.Fatalf("%d buckets, more than %d", n, maxLocalKeys)
	}
}

func TestRedisShared(t *testing.T) {
	srv := redistest.Run(t)
	opt, _ := redis.ParseURL(srv.URL())
	c1, c2 := redis.NewClient(opt), redis.NewClient(opt)
	defer c1.Close()
	defer c2.Close()
	log := slog.New(slog.DiscardHandler)
	// Two replicas share one limit.
	q1, q2 := New(AWS, NewRedis(c1, "tagway:", log)), New(AWS, NewRedis(c2, "tagway:", log))
	ctx := context.Background()
	allowed := 0
	for i := range 10 {
		q := q1
		if i%2 == 1 {
			q = q2
		}
		if r := q.Take(ctx, "a", nil, operation.TagResources); r.Allowed {
			allowed++
		} else if r.RetryAfter <= 0 || r.RetryAfter > time.Second {
			t.Fatalf("refused with RetryAfter %v", r.RetryAfter)
		}
	}
	// The ten calls take well under a second; a refill of one at most.
	if allowed < 5 || allowed > 6 {
		t.Fatalf("%d of 10 calls allowed across two replicas, want 5 (6 with a refill)", allowed)
	}
	if n, err := c1.Exists(ctx, "rate:tagway:rl:a:TagResources").Result(); err != nil || n != 1 {
		t.Fatalf("the limit's key: %d, %v", n, err)
	}
}

func TestRedisFailsOpenLocally(t *testing.T) {
	srv := redistest.Run(t)
	opt, _ := redis.ParseURL(srv.URL())
	opt.MaxRetries = -1
	c := redis.NewClient(opt)
	defer c.Close()
	// Allow logs from the calling goroutine: the calls here are one at a
	// time.
	var logs bytes.Buffer
	r := NewRedis(c, "tagway:", slog.New(slog.NewTextHandler(&logs, nil)))
	q := New(AWS, r)
	ctx := context.Background()
	srv.Kill()
	// Redis is gone: the limit still holds, in this process.
	allowed := 0
	for range 10 {
		if q.Take(ctx, "a", nil, operation.UntagResources).Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("%d of 10 calls allowed with Redis gone, want 5 (the local limit)", allowed)
	}
	if n := strings.Count(logs.String(), "rate limits: Redis failed"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, logs.String())
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	r.nextTryNs.Store(0) // try Redis now rather than in a second
	if !q.Take(ctx, "b", nil, operation.UntagResources).Allowed {
		t.Fatal("refused after Redis came back")
	}
	if !strings.Contains(logs.String(), "rate limits: Redis answers again") {
		t.Fatalf("the recovery was not logged:\n%s", logs.String())
	}
}
