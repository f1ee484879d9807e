package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/server"
	"github.com/tagway/tagway/internal/tagging"
)

// watcherCount is how many watchers the watchers part runs, over
// watcherConns client connections.
const watcherCount, watcherConns = 100, 10

// watchers measures what 100 gRPC watchers cost tagway's writers: gRPC
// tag+untag of 20 × 5 at concurrency 8 with no watcher against 100, in
// turns; first with watchers of accounts of their own (none of them the one
// changed, as tenants watch), then with watchers that each receive every
// change. It also reports the process's CPU per change delivered to one
// watcher: the server's work and, since the watchers' clients run in the
// same process, theirs.
func (r *run) watchers(ctx context.Context) error {
	rd, err := startRedis(ctx)
	if err != nil {
		return err
	}
	defer rd.stop()
	core, err := tagging.New(ctx, rd.store, tagging.WithLogger(r.log))
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Service: core, Log: r.log})
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx) }()
	defer func() { stop(); <-done }()
	dial := func() (*grpc.ClientConn, error) {
		return grpc.NewClient(srv.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	conn, err := dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	client := tagwayv1.NewTaggingServiceClient(conn)
	var watchClients []tagwayv1.TaggingServiceClient
	for range watcherConns {
		c, err := dial()
		if err != nil {
			return err
		}
		defer c.Close()
		watchClients = append(watchClients, tagwayv1.NewTaggingServiceClient(c))
	}

	tags := map[string]string{}
	for _, k := range benchKeys {
		tags[k] = "v" + k
	}
	// Each call makes 40 changes: 20 resources tagged, then untagged.
	const changesPerCall = 40
	tagUntag := func(worker, round int) error {
		names := batch(worker, round%50)
		if _, err := client.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: names, Tags: tags}); err != nil {
			return err
		}
		_, err := client.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: names, TagKeys: benchKeys})
		return err
	}
	for _, all := range []bool{false, true} {
		const turns = 3
		var calls [2]int
		var cpu [2]time.Duration
		for range turns {
			for with := range 2 {
				var w *grpcWatchers
				if with == 1 {
					if w, err = startGRPCWatchers(ctx, watchClients, all); err != nil {
						return err
					}
				}
				cpu0 := cpuTime()
				took, err := r.load(8, r.cfg.Duration/turns, tagUntag)
				if err == nil && w != nil && all {
					err = w.waitFor(int64(len(took)) * changesPerCall * watcherCount)
				}
				cpu[with] += cpuTime() - cpu0
				calls[with] += len(took)
				if w != nil {
					w.stop()
				}
				if err != nil {
					return err
				}
			}
		}
		per := r.cfg.Duration.Seconds()
		kind := "of other accounts"
		if all {
			kind = "receiving every change"
		}
		r.row(fmt.Sprintf("gRPC tag+untag/s, 100 watchers %s vs none", kind), float64(calls[1])/per, float64(calls[0])/per, "/s")
		perCall := func(i int) float64 { return float64(cpu[i].Microseconds()) / float64(calls[i]) }
		r.row(fmt.Sprintf("tagway CPU per tag+untag, 100 watchers %s vs none", kind), perCall(1), perCall(0), "us")
		if all {
			r.note("tagway CPU per change delivered to one watcher (with its client)", (perCall(1)-perCall(0))/(changesPerCall*watcherCount), "us")
		}
	}
	return nil
}

// grpcWatchers are watch streams whose clients count the changes they
// receive.
type grpcWatchers struct {
	delivered atomic.Int64
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	errs      chan error
}

// startGRPCWatchers opens watcherCount watches, spread over clients: of
// every change, or each of an account no call changes.
func startGRPCWatchers(ctx context.Context, clients []tagwayv1.TaggingServiceClient, all bool) (*grpcWatchers, error) {
	wctx, cancel := context.WithCancel(ctx)
	w := &grpcWatchers{cancel: cancel, errs: make(chan error, watcherCount)}
	for i := range watcherCount {
		req := &tagwayv1.WatchTagChangesRequest{}
		if !all {
			req.Scopes = []*tagwayv1.ResourceScope{{Accounts: []string{fmt.Sprintf("%012d", 500000+i)}}}
		}
		stream, err := clients[i%len(clients)].WatchTagChanges(wctx, req)
		if err == nil {
			_, err = stream.Recv() // the first message: the watch is established
		}
		if err != nil {
			w.stop()
			return nil, fmt.Errorf("bench: watch %d: %w", i, err)
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for {
				m, err := stream.Recv()
				if err != nil {
					if wctx.Err() == nil {
						w.errs <- err
					}
					return
				}
				w.delivered.Add(int64(len(m.GetChanges())))
			}
		}()
	}
	return w, nil
}

// waitFor waits until the watchers have received n changes in all.
func (w *grpcWatchers) waitFor(n int64) error {
	give := time.Now().Add(time.Minute)
	for w.delivered.Load() < n {
		select {
		case err := <-w.errs:
			return fmt.Errorf("bench: a watch ended: %w", err)
		default:
		}
		if time.Now().After(give) {
			return fmt.Errorf("bench: the watchers received %d changes of %d", w.delivered.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func (w *grpcWatchers) stop() {
	w.cancel()
	w.wg.Wait()
}

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
