package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
)

// slowTime delays the TIME command before it reaches the server, as a
// loaded machine can.
type slowTime struct{ d time.Duration }

func (slowTime) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h slowTime) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "time" {
			time.Sleep(h.d)
		}
		return next(ctx, cmd)
	}
}
func (slowTime) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

var _ redis.Hook = slowTime{}

// TestFeedNowNeverAhead: FeedNow is never ahead of the server's clock, even
// when the Ping that set the estimate waited before reaching the server; a
// watch started from a later position would miss the changes that follow.
func TestFeedNowNeverAhead(t *testing.T) {
	srv := redistest.Run(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	c.AddHook(slowTime{d: 300 * time.Millisecond})
	s := redisstore.New(c, redisstore.Options{})
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	now, err := s.FeedNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reply, err := srv.Do("TIME")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(reply)
	if len(f) != 2 {
		t.Fatalf("TIME: %q", reply)
	}
	secs, err1 := strconv.ParseUint(f[0], 10, 64)
	micros, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("TIME: %q", reply)
	}
	// The server's clock, read after FeedNow.
	if server := secs*1000 + micros/1000; now.Ms > server {
		t.Fatalf("FeedNow %d ms is %d ms ahead of the server's clock", now.Ms, now.Ms-server)
	}
}

// lagTime reports the TIME of one server lag behind its real clock, as a
// master whose clock runs late would, or fails it while down is set.
type lagTime struct {
	lag  time.Duration
	down *atomic.Bool
}

func (lagTime) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h lagTime) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if _, ok := cmd.(*redis.TimeCmd); ok && h.down.Load() {
			cmd.SetErr(errors.New("lagTime: down"))
			return cmd.Err()
		}
		err := next(ctx, cmd)
		if t, ok := cmd.(*redis.TimeCmd); ok && err == nil {
			t.SetVal(t.Val().Add(-h.lag))
		}
		return err
	}
}
func (lagTime) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestClusterClockIsTheSlowestMaster: on a Cluster, FeedNow follows the
// master whose clock is furthest behind, whichever node a Ping reaches
// first, and still does while that master does not answer. A watch
// started from a later position would miss the changes applied on that
// master in the next moments, and a deadline judged by a faster clock
// would let a late change land there.
func TestClusterClockIsTheSlowestMaster(t *testing.T) {
	cl := redistest.RunCluster(t)
	const lag = 500 * time.Millisecond
	var down atomic.Bool
	var addrs []string
	for _, n := range cl.Nodes {
		addrs = append(addrs, n.Addr)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	c.OnNewNode(func(n *redis.Client) {
		if n.Options().Addr == cl.Nodes[1].Addr {
			n.AddHook(lagTime{lag: lag, down: &down})
		}
	})
	s := redisstore.New(c, redisstore.Options{})
	defer s.Close()
	ctx := context.Background()
	for i := range 20 {
		// The last ten pings find the lagging master down.
		down.Store(i >= 10)
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		now, err := s.FeedNow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ahead := time.Duration(now.Ms)*time.Millisecond - time.Duration(time.Now().UnixMilli()-lag.Milliseconds())*time.Millisecond; ahead > 0 {
			t.Fatalf("FeedNow is %v ahead of the lagging master's clock", ahead)
		}
	}
}
