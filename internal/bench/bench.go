// Package bench measures tagway against its own baselines, in one run, on
// a redis-server it starts: the Redis work of a change, the gateway against
// the store's floor, tail latency under concurrency, listings as the store
// grows in groups and in resources, and the dialects against the core. It
// prints each figure as a ratio to its baseline (absolute figures beside
// them); docs/performance.md quotes the ratios. cmd/tagway-bench runs it.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/server"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
)

// Config sizes a run.
type Config struct {
	// Groups is how many accounts (groups) the store holds for the listing
	// rows, against a baseline of 5.
	Groups int
	// Small and Large are the stored resources of the size rows.
	Small, Large int
	// Duration is how long each throughput and latency figure runs.
	Duration time.Duration
	// Only names the parts to run (Parts); none runs them all.
	Only []string
}

// Run measures and prints the table to w.
func Run(ctx context.Context, w io.Writer, cfg Config) error {
	r := &run{w: w, cfg: cfg, log: slog.New(slog.DiscardHandler)}
	fmt.Fprintf(w, "tagway bench: %d groups, %d and %d resources, %v per throughput figure\n\n", cfg.Groups, cfg.Small, cfg.Large, cfg.Duration)
	fmt.Fprintf(w, "%-58s %14s %14s %8s\n", "figure", "measured", "baseline", "ratio")
	for _, step := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"redis", r.redisWork}, {"gateway", r.gatewayVsFloor}, {"listings", r.listingsByGroups}, {"dialects", r.dialects}, {"size", r.bySize}, {"watchers", r.watchers},
	} {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, step.name) {
			continue
		}
		if err := step.run(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Parts are the names Config.Only takes.
var Parts = []string{"redis", "gateway", "listings", "dialects", "size", "watchers"}

type run struct {
	w   io.Writer
	cfg Config
	log *slog.Logger
}

// row prints one figure against its baseline; lower is better unless
// higher says otherwise.
func (r *run) row(name string, measured, baseline float64, unit string) {
	fmt.Fprintf(r.w, "%-58s %11.1f %-2s %11.1f %-2s %7.2fx\n", name, measured, unit, baseline, unit, measured/baseline)
}

// note prints a figure without a baseline.
func (r *run) note(name string, v float64, unit string) {
	fmt.Fprintf(r.w, "%-58s %11.1f %-2s\n", name, v, unit)
}

// redis is a fresh redis-server and a store on it.
type redis struct {
	srv   *redistest.Server
	store *redisstore.Store
}

func startRedis(ctx context.Context) (*redis, error) {
	srv, err := redistest.Start()
	if err != nil {
		return nil, err
	}
	st, err := redisstore.Open(ctx, srv.URL(), redisstore.Options{})
	if err != nil {
		srv.Stop()
		return nil, err
	}
	return &redis{srv: srv, store: st}, nil
}

func (rd *redis) stop() {
	rd.store.Close()
	rd.srv.Stop()
}

// info returns a field of INFO section.
func (rd *redis) info(section, field string) float64 {
	text, _ := rd.srv.Do("INFO", section)
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// scriptMicros returns the microseconds Redis has spent in scripts.
func (rd *redis) scriptMicros() float64 {
	scripts, _ := rd.commandMicros()
	return scripts
}

// commandMicros returns, from INFO commandstats, the microseconds Redis has
// spent in scripts (EVAL and EVALSHA, the commands they call included) and
// in every other command. Redis counts a command a script calls both in the
// script's time and in its own, so the second figure, on a server that runs
// nothing but scripts, is the part of the first the scripts' commands take
// (plus the few registry writes a store sends beside its scripts: one
// HINCRBY and one ZADD per call that sets tags).
func (rd *redis) commandMicros() (scripts, commands float64) {
	stats, _ := rd.srv.CommandStats()
	for name, st := range stats {
		switch name {
		case "eval", "evalsha":
			scripts += st.Usec
		case "info", "config|resetstat", "hello", "client|setinfo", "ping":
		default:
			commands += st.Usec
		}
	}
	return scripts, commands
}

var benchKeys = []string{"env", "team", "owner", "cost", "app"}

// benchTags are the tags the gRPC rows set: each of benchKeys, valued "v"
// and the key.
var benchTags = func() map[string]string {
	tags := map[string]string{}
	for _, k := range benchKeys {
		tags[k] = "v" + k
	}
	return tags
}()

// tagUntag returns the gRPC rows' operation through cl: a worker tags a
// batch of its account with benchTags, then untags it.
func tagUntag(ctx context.Context, cl tagwayv1.TaggingServiceClient) func(worker, round int) error {
	return func(worker, round int) error {
		names := batch(worker, round%50)
		if _, err := cl.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: names, Tags: benchTags}); err != nil {
			return err
		}
		_, err := cl.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: names, TagKeys: benchKeys})
		return err
	}
}

// batch names 20 resources of account acct, the shape of the issue's
// workload: a call of 20 resources with 5 keys each.
func batch(acct, round int) []string {
	out := make([]string, 20)
	for i := range out {
		out[i] = fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:instance/i-%08d", acct, round*20+i)
	}
	return out
}

func changes(names []string, value string, remove bool) []tagstore.Change {
	out := make([]tagstore.Change, len(names))
	for i, s := range names {
		n, _ := parseName(s)
		c := tagstore.Change{Resource: n}
		if remove {
			c.Remove = benchKeys
		} else {
			c.Set = map[string]string{}
			for _, k := range benchKeys {
				c.Set[k] = value + k
			}
		}
		out[i] = c
	}
	return out
}

// redisWork measures the Redis CPU a change of one resource costs, from
// INFO commandstats, over batches of 20 resources with 5 keys: with the
// change feed (as tagway runs by default) against without it, in
// alternating calls on one server, so that both see the same load. It also
// reports how much of it the script's Redis commands take (the rest is
// Lua), and the memory a resource takes.
func (r *run) redisWork(ctx context.Context) error {
	rd, err := startRedis(ctx)
	if err != nil {
		return err
	}
	defer rd.stop()
	nofeed, err := redisstore.Open(ctx, rd.srv.URL(), redisstore.Options{Prefix: "nofeed:", FeedRetention: -1})
	if err != nil {
		return err
	}
	defer nofeed.Close()
	stores := []*redisstore.Store{rd.store, nofeed}
	const rounds = 200
	type cost struct{ script, commands, memory float64 }
	measure := func(value string, remove bool) ([2]cost, error) {
		var c [2]cost
		for round := range rounds {
			for i, st := range stores {
				s0, c0 := rd.commandMicros()
				m0 := rd.info("memory", "used_memory")
				for _, err := range st.Apply(ctx, changes(batch(1, round), value, remove)) {
					if err != nil {
						return c, err
					}
				}
				s1, c1 := rd.commandMicros()
				c[i].script += (s1 - s0) / (rounds * 20)
				c[i].commands += (c1 - c0) / (rounds * 20)
				c[i].memory += (rd.info("memory", "used_memory") - m0) / (rounds * 20)
			}
		}
		return c, nil
	}
	create, err := measure("a", false)
	if err != nil {
		return err
	}
	overwrite, err := measure("b", false)
	if err != nil {
		return err
	}
	untag, err := measure("", true)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		c    [2]cost
	}{{"tag, new resource, 5 keys", create}, {"tag, 5 values changed", overwrite}, {"untag, 5 keys", untag}} {
		r.row("Redis CPU per resource: "+f.name+", feed vs none", f.c[0].script, f.c[1].script, "us")
		r.row("  of which Redis commands (the rest is Lua), feed vs none", f.c[0].commands, f.c[1].commands, "us")
	}
	r.row("Redis memory per resource with 5 tags, feed vs none", create[0].memory, create[1].memory, "B")
	insert, err := rd.insertMicros(ctx)
	if err != nil {
		return err
	}
	r.note("  Redis CPU of one new index member (ZADD of 20, no script)", insert, "us")
	return nil
}

// insertMicros returns the Redis CPU, from INFO commandstats, of one new
// member of an index as apply.lua adds them, without a script: ZADD of 20
// idents at a time into one sorted set that grows to 4000, as the bench's
// k: and v: indexes do. A new resource with 5 keys enters 11 indexes, so
// 11 of these are a floor under its change that no script can go below.
func (rd *redis) insertMicros(ctx context.Context) (float64, error) {
	c := rd.store.Client()
	const rounds = 200
	before, err := rd.srv.CommandStats()
	if err != nil {
		return 0, err
	}
	for round := range rounds {
		members := make([]goredis.Z, 20)
		for i := range members {
			members[i] = goredis.Z{Member: fmt.Sprintf("ec2:ra:instance\x1f/i-%08d", round*20+i)}
		}
		if err := c.ZAdd(ctx, "bench:inserts", members...).Err(); err != nil {
			return 0, err
		}
	}
	after, err := rd.srv.CommandStats()
	if err != nil {
		return 0, err
	}
	if err := c.Del(ctx, "bench:inserts").Err(); err != nil {
		return 0, err
	}
	return (after["zadd"].Usec - before["zadd"].Usec) / (rounds * 20), nil
}

// gatewayVsFloor compares gRPC UntagResources and TagResources of 20
// resources × 5 keys, through tagway's server, with the same changes applied
// to the store directly (the floor), at several concurrencies, and reports
// the tail latency at 32.
func (r *run) gatewayVsFloor(ctx context.Context) error {
	g, err := r.startGateway(ctx)
	if err != nil {
		return err
	}
	defer g.stop()
	rd, core, client := g.redis, g.core, g.client

	floor := func(worker, round int) error {
		names := batch(worker, round%50)
		for _, remove := range []bool{false, true} {
			for _, err := range rd.store.Apply(ctx, changes(names, "v", remove)) {
				if err != nil {
					return err
				}
			}
		}
		return nil
	}
	viaGRPC := tagUntag(ctx, client)
	// The same core served by a bare grpc-go server (no interceptors, no
	// codec of tagway's, default options): what any grpc-go server adds on
	// this machine, the ceiling of the gRPC row.
	viaBare := tagUntag(ctx, g.bare)
	viaCore := func(worker, round int) error {
		names := batch(worker, round%50)
		if _, err := core.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: names, Tags: benchTags}); err != nil {
			return err
		}
		_, err := core.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: names, TagKeys: benchKeys})
		return err
	}
	for _, c := range []int{1, 8, 32} {
		ops := []func(worker, round int) error{floor, viaGRPC}
		if c == 1 {
			// Where the time goes: the core alone, without gRPC, and
			// the core behind a bare grpc-go server.
			ops = append(ops, viaCore, viaBare)
		}
		rates, lats, err := r.alternate(c, ops...)
		if err != nil {
			return err
		}
		r.row(fmt.Sprintf("gRPC tag+untag 20x5 per s vs store floor, concurrency %d", c), rates[1], rates[0], "/s")
		if c == 1 {
			r.row("core tag+untag 20x5 (no gRPC) per s vs store floor, conc. 1", rates[2], rates[0], "/s")
			r.row("bare grpc-go over the core per s vs store floor, conc. 1", rates[3], rates[0], "/s")
			r.row("gRPC tag+untag 20x5 per s vs bare grpc-go, concurrency 1", rates[1], rates[3], "/s")
			// A call the core refuses before the store: gRPC's round trip,
			// the interceptors and the core's checks, without Redis; and
			// the same through bare grpc-go.
			for _, via := range []struct {
				name string
				cl   tagwayv1.TaggingServiceClient
			}{{"gRPC UntagResources of 20 refused before the store", client}, {"the same, bare grpc-go over the core", g.bare}} {
				refused, err := timed(2000, func() error {
					_, err := via.cl.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: batch(1, 0)})
					if status.Code(err) != codes.InvalidArgument {
						return fmt.Errorf("bench: a call without keys answered %v", err)
					}
					return nil
				})
				if err != nil {
					return err
				}
				r.note(via.name, refused, "us")
			}
		}
		if c == 32 {
			r.row("gRPC tag+untag p99 vs p50 latency, concurrency 32", lats[1].p99, lats[1].p50, "ms")
		}
	}
	return nil
}

// gateway is a tagway server (gRPC and HTTP on loopback) over a fresh
// redis-server, and a gRPC client of it.
type gateway struct {
	redis  *redis
	core   *tagging.Service
	srv    *server.Server
	client tagwayv1.TaggingServiceClient
	// bare is a client of the same core served by a bare grpc-go server.
	bare  tagwayv1.TaggingServiceClient
	stops []func()
}

// startGateway starts a gateway; stop ends it.
func (r *run) startGateway(ctx context.Context) (*gateway, error) {
	g := &gateway{}
	var err error
	if g.redis, err = startRedis(ctx); err != nil {
		return nil, err
	}
	g.stops = append(g.stops, g.redis.stop)
	if g.core, err = tagging.New(ctx, g.redis.store, tagging.WithLogger(r.log)); err == nil {
		g.srv, err = server.New(server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Service: g.core, Log: r.log})
	}
	if err != nil {
		g.stop()
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.srv.Serve(sctx) }()
	g.stops = append(g.stops, func() { cancel(); <-done })
	conn, err := grpc.NewClient(g.srv.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		g.stop()
		return nil, err
	}
	g.stops = append(g.stops, func() { conn.Close() })
	g.client = tagwayv1.NewTaggingServiceClient(conn)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		g.stop()
		return nil, err
	}
	bare := grpc.NewServer()
	tagwayv1.RegisterTaggingServiceServer(bare, g.core)
	go bare.Serve(lis)
	g.stops = append(g.stops, bare.Stop)
	bconn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		g.stop()
		return nil, err
	}
	g.stops = append(g.stops, func() { bconn.Close() })
	g.bare = tagwayv1.NewTaggingServiceClient(bconn)
	return g, nil
}

// stop ends what startGateway started, last first.
func (g *gateway) stop() {
	for i := len(g.stops) - 1; i >= 0; i-- {
		g.stops[i]()
	}
}

// alternate runs each of ops from c workers, in turns of a third of the
// configured duration each, so that a shared machine's other loads weigh on
// all alike, and returns the operations per second and the latencies of
// each.
func (r *run) alternate(c int, ops ...func(worker, round int) error) ([]float64, []latencies, error) {
	const turns = 3
	all := make([][]time.Duration, len(ops))
	for range turns {
		for i, op := range ops {
			took, err := r.load(c, r.cfg.Duration/turns, op)
			if err != nil {
				return nil, nil, err
			}
			all[i] = append(all[i], took...)
		}
	}
	rates := make([]float64, len(ops))
	lats := make([]latencies, len(ops))
	for i, took := range all {
		if len(took) == 0 {
			return nil, nil, fmt.Errorf("bench: no operation finished")
		}
		slices.Sort(took)
		ms := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))].Microseconds()) / 1000 }
		rates[i] = float64(len(took)) / r.cfg.Duration.Seconds()
		lats[i] = latencies{ms(0.5), ms(0.99)}
	}
	return rates, lats, nil
}

type latencies struct{ p50, p99 float64 }

// load runs op from c workers for d and returns how long each operation
// took.
func (r *run) load(c int, d time.Duration, op func(worker, round int) error) ([]time.Duration, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []time.Duration
	var failed atomic.Value
	deadline := time.Now().Add(d)
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for round := 0; time.Now().Before(deadline); round++ {
				start := time.Now()
				if err := op(w+2, round); err != nil {
					failed.Store(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return nil, err
	}
	return all, nil
}

// turns returns the mean duration of each of fns over n runs, in
// microseconds. They take turns in blocks of 100 runs, so that the other
// loads of a shared machine weigh on all alike.
func turns(n int, fns ...func() error) ([]float64, error) {
	const block = 100
	took := make([]time.Duration, len(fns))
	for _, f := range fns {
		if err := f(); err != nil { // warm-up
			return nil, err
		}
	}
	runtime.GC()
	for done := 0; done < n; done += block {
		for i, f := range fns {
			start := time.Now()
			for range block {
				if err := f(); err != nil {
					return nil, err
				}
			}
			took[i] += time.Since(start)
		}
	}
	runs := float64((n + block - 1) / block * block)
	out := make([]float64, len(fns))
	for i, t := range took {
		out[i] = float64(t.Microseconds()) / runs
	}
	return out, nil
}

// timed returns the mean duration of fn over n runs, in microseconds,
// after a warm-up run and a garbage collection, so that neither the
// loading before it nor a first connection weighs on it.
func timed(n int, fn func() error) (float64, error) {
	if err := fn(); err != nil {
		return 0, err
	}
	runtime.GC()
	start := time.Now()
	for range n {
		if err := fn(); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(start).Microseconds()) / float64(n), nil
}
