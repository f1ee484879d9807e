package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
)

// scriptUsec returns the microseconds Redis spent in EVALSHA and EVAL since
// the last CONFIG RESETSTAT, and how many calls (INFO commandstats).
func scriptUsec(b *testing.B, srv *redistest.Server) (usec, calls float64) {
	stats, err := srv.CommandStats()
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"eval", "evalsha"} {
		usec += stats[name].Usec
		calls += stats[name].Calls
	}
	return usec, calls
}

// BenchmarkFeedRedisCPU measures the Redis CPU time of a change (a tag, an
// overwrite and an untag of one resource, in turn) with the change feed and
// without, on one server, in alternating rounds of the same run, from INFO
// commandstats; it reports both and their ratio (issue #12 asks at most
// 1.3).
func BenchmarkFeedRedisCPU(b *testing.B) {
	srv := redistest.Run(b)
	open := func(prefix string, retention time.Duration) *redisstore.Store {
		s, err := redisstore.Open(context.Background(), srv.URL(), redisstore.Options{Prefix: prefix, FeedRetention: retention})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	with, without := open("tagway:", 0), open("nofeed:", -1)
	defer with.Close()
	defer without.Close()
	change := func(i int) tagstore.Change {
		r := mustParse(b, fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%d", i%1000))
		switch i / 1000 % 3 {
		case 0:
			return tagstore.Change{Resource: r, Set: map[string]string{"env": "prod", "team": "a", "cost": strconv.Itoa(i % 7)}}
		case 1:
			return tagstore.Change{Resource: r, Set: map[string]string{"cost": strconv.Itoa(i%7 + 1)}}
		}
		return tagstore.Change{Resource: r, Remove: []string{"env", "team", "cost"}}
	}
	ctx := tagstore.WithOrigin(context.Background(), tagstore.Origin{Surface: "aws", Operation: "TagResources", Principal: "bench", RequestID: "0123456789abcdef0123456789abcdef"})
	// Each store gets the same sequence of changes: next[k] is the index of
	// store k's next change.
	var usec, calls [2]float64
	var next [2]int
	round := 0
	for i := 0; b.Loop(); i++ {
		s := []*redisstore.Store{without, with}[round%2]
		if i%500 == 0 {
			if i > 0 {
				u, c := scriptUsec(b, srv)
				usec[round%2] += u
				calls[round%2] += c
				round++
				s = []*redisstore.Store{without, with}[round%2]
			}
			if _, err := srv.Do("CONFIG", "RESETSTAT"); err != nil {
				b.Fatal(err)
			}
		}
		k := round % 2
		next[k]++
		if err := s.Apply(ctx, []tagstore.Change{change(next[k])})[0]; err != nil {
			b.Fatal(err)
		}
	}
	if calls[0] == 0 || calls[1] == 0 {
		return // too few iterations for both rounds
	}
	off, on := usec[0]/calls[0], usec[1]/calls[1]
	b.ReportMetric(off, "redis-us/change-nofeed")
	b.ReportMetric(on, "redis-us/change-feed")
	b.ReportMetric(on/off, "feed/nofeed")
}
