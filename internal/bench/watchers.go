package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
)

// watcherCount is how many watchers the watchers part runs, over
// watcherConns client connections.
const watcherCount, watcherConns = 100, 10

// watchers measures what 100 gRPC watchers cost tagway's writers: gRPC
// tag+untag of 20 × 5 at concurrency 8 with no watcher against 100, in
// turns; first with watchers of accounts of their own (none of them the one
// changed, as tenants watch), then with watchers that each receive every
// change. It also reports tagway's CPU per change delivered to one watcher
// (the watchers' clients run in a child process).
func (r *run) watchers(ctx context.Context) error {
	g, err := r.startGateway(ctx)
	if err != nil {
		return err
	}
	defer g.stop()
	client, addr := g.client, g.srv.GRPCAddr().String()

	// Each call makes 40 changes: 20 resources tagged, then untagged.
	const changesPerCall = 40
	op := tagUntag(ctx, client)
	for _, all := range []bool{false, true} {
		const turns = 3
		var calls [2]int
		var cpu [2]time.Duration
		for range turns {
			for with := range 2 {
				var w *grpcWatchers
				if with == 1 {
					if w, err = startGRPCWatchers(ctx, addr, all); err != nil {
						return err
					}
				}
				cpu0 := cpuTime()
				took, err := r.load(8, r.cfg.Duration/turns, op)
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
			r.note("tagway CPU per change delivered to one gRPC watcher", (perCall(1)-perCall(0))/(changesPerCall*watcherCount), "us")
		}
	}
	return nil
}

// grpcWatchers are watch streams in a child process (this program run with
// -watch-client, see WatchClient), so that the CPU this process uses is
// tagway's alone, and the clients compete for the machine as real ones do.
type grpcWatchers struct {
	delivered atomic.Int64
	cmd       *exec.Cmd
	stdin     io.Closer
	done      chan error // the child's output ended, with why
}

// startGRPCWatchers starts watcherCount watches of addr in a child: of
// every change, or each of an account no call changes.
func startGRPCWatchers(ctx context.Context, addr string, all bool) (*grpcWatchers, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-watch-client", addr}
	if all {
		args = append(args, "-watch-all")
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &grpcWatchers{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		w.stop()
		return nil, fmt.Errorf("bench: the watch client did not start: %q", lines.Text())
	}
	go func() {
		for lines.Scan() {
			n, err := strconv.ParseInt(lines.Text(), 10, 64)
			if err != nil {
				w.done <- fmt.Errorf("bench: the watch client said %q", lines.Text())
				return
			}
			w.delivered.Store(n)
		}
		w.done <- fmt.Errorf("bench: the watch client ended: %v", lines.Err())
	}()
	return w, nil
}

// waitFor waits until the watchers have received n changes in all.
func (w *grpcWatchers) waitFor(n int64) error {
	give := time.Now().Add(time.Minute)
	for w.delivered.Load() < n {
		select {
		case err := <-w.done:
			return err
		default:
		}
		if time.Now().After(give) {
			return fmt.Errorf("bench: the watchers received %d changes of %d", w.delivered.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// stop ends the child: it exits when its input closes.
func (w *grpcWatchers) stop() {
	_ = w.stdin.Close()
	_ = w.cmd.Wait()
}

// WatchClient is the child of the watchers part: it opens watcherCount
// watches of the gRPC server at addr, over watcherConns connections (of
// every change if all, else each of an account no call changes), writes
// "ready" once they are established, then the count of changes received
// whenever it grows, until stdin closes.
func WatchClient(addr string, all bool, stdin io.Reader, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	var delivered atomic.Int64
	errs := make(chan error, watcherCount)
	for i := range watcherConns {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		client := tagwayv1.NewTaggingServiceClient(conn)
		for j := range watcherCount / watcherConns {
			req := &tagwayv1.WatchTagChangesRequest{}
			if !all {
				req.Scopes = []*tagwayv1.ResourceScope{{Accounts: []string{fmt.Sprintf("%012d", 500000+i*watcherCount+j)}}}
			}
			stream, err := client.WatchTagChanges(ctx, req)
			if err == nil {
				_, err = stream.Recv() // the first message: the watch is established
			}
			if err != nil {
				return fmt.Errorf("watch: %w", err)
			}
			go func() {
				for {
					m, err := stream.Recv()
					if err != nil {
						if ctx.Err() == nil {
							errs <- err
						}
						return
					}
					delivered.Add(int64(len(m.GetChanges())))
				}
			}()
		}
	}
	fmt.Fprintln(stdout, "ready")
	last := int64(0)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			return fmt.Errorf("a watch ended: %w", err)
		case <-tick.C:
			if n := delivered.Load(); n != last {
				last = n
				if _, err := fmt.Fprintln(stdout, n); err != nil {
					return err
				}
			}
		}
	}
}

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
