package tagging_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
)

// BenchmarkUntagWithWatchers measures untag throughput (8 concurrent
// callers, one resource per call) without watchers and with 100, in
// alternating rounds of the same run, and reports the ratio (issue #12 asks
// at least 0.9). "scoped": each watcher watches an account of its own, none
// of them the one untagged, as tenants do; "all": every watcher receives
// every change. It also reports this process's CPU time (not Redis's) per
// untag in each kind of round, and, for "all", the difference per change
// delivered to one watcher: what a delivery costs, whatever the machine.
func BenchmarkUntagWithWatchers(b *testing.B) {
	for _, backend := range []string{"memory", "redis"} {
		for _, mode := range []string{"scoped", "all"} {
			b.Run(backend+"/"+mode, func(b *testing.B) {
				var st tagstore.Store
				if backend == "memory" {
					st = memstore.New()
				} else {
					srv := redistest.Run(b)
					s, err := redisstore.Open(context.Background(), srv.URL(), redisstore.Options{})
					if err != nil {
						b.Fatal(err)
					}
					st = s
				}
				defer st.Close()
				benchWatchers(b, newService(b, st), mode)
			})
		}
	}
}

func benchWatchers(b *testing.B, s *tagging.Service, mode string) {
	const round, callers = 2000, 8
	var elapsed, cpu [2]time.Duration
	var done [2]int
	next := 0
	b.ResetTimer()
	for r := 0; done[0]+done[1] < b.N || r < 2; r++ {
		b.StopTimer()
		names := make([]string, round)
		for i := range names {
			names[i] = fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%d", next)
			next++
		}
		for i := 0; i < round; i += 100 {
			mustTag(b, s, names[i:i+100], "env", "prod")
		}
		var stop func()
		var delivered *atomic.Int64
		if r%2 == 1 {
			stop, delivered = startWatchers(b, s, mode)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime(b)
		var wg sync.WaitGroup
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; i < round; i += callers {
					req := &tagwayv1.UntagResourcesRequest{Resources: []string{names[i]}, TagKeys: []string{"env"}}
					if resp, err := s.UntagResources(ctx, req); err != nil || len(resp.GetFailedResources()) > 0 {
						b.Error(err, resp)
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed[r%2] += time.Since(start)
		if mode == "all" && delivered != nil {
			// The watchers deliver what is left before the CPU is read.
			for give := time.Now().Add(30 * time.Second); delivered.Load() < 100*round; {
				if time.Now().After(give) {
					b.Fatalf("the watchers delivered %d changes of %d", delivered.Load(), 100*round)
				}
				time.Sleep(time.Millisecond)
			}
		}
		cpu[r%2] += cpuTime(b) - cpu0
		done[r%2] += round
		b.StopTimer()
		if stop != nil {
			stop()
		}
		b.StartTimer()
	}
	without := float64(done[0]) / elapsed[0].Seconds()
	with := float64(done[1]) / elapsed[1].Seconds()
	b.ReportMetric(without, "untags/s-0watchers")
	b.ReportMetric(with, "untags/s-100watchers")
	b.ReportMetric(with/without, "100watchers/0watchers")
	cpuWithout := cpu[0].Seconds() * 1e6 / float64(done[0])
	cpuWith := cpu[1].Seconds() * 1e6 / float64(done[1])
	b.ReportMetric(cpuWithout, "µs-cpu/untag-0watchers")
	b.ReportMetric(cpuWith, "µs-cpu/untag-100watchers")
	if mode == "all" {
		b.ReportMetric((cpuWith-cpuWithout)/100, "µs-cpu/delivery")
	}
}

// cpuTime returns the CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startWatchers starts 100 watches whose clients read every message, and
// returns what ends them and the count of changes they received.
func startWatchers(b *testing.B, s *tagging.Service, mode string) (func(), *atomic.Int64) {
	var delivered atomic.Int64
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range 100 {
		req := &tagwayv1.WatchTagChangesRequest{}
		if mode == "scoped" {
			req.Scopes = []*tagwayv1.ResourceScope{{Accounts: []string{fmt.Sprintf("%012d", 200000000000+i)}}}
		}
		st := &watchStream{ctx: wctx, out: make(chan *tagwayv1.WatchTagChangesResponse, 64)}
		wg.Add(2)
		go func() {
			defer wg.Done()
			_ = s.WatchTagChanges(req, st)
		}()
		go func() {
			defer wg.Done()
			for {
				select {
				case m := <-st.out:
					delivered.Add(int64(len(m.GetChanges())))
				case <-wctx.Done():
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // the watches are established
	return func() {
		cancel()
		wg.Wait()
	}, &delivered
}
