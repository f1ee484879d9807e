package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// The fault drills: Redis killed, paused and stuck, tagway stopped under
// load, slow and large bodies. Each starts and stops its own processes on
// loopback, drives mixed calls on all three surfaces (load), and ends by
// checking that no acknowledged change was lost or overtaken by a late one,
// that clients saw only documented errors, and that every index is exact.
// `make chaos` runs them at full length (TAGWAY_CHAOS=full); `make test`
// and CI run them short.

// faultRedis starts a Redis that persists every write before answering
// (AOF, fsync always), so that one killed comes back with everything it
// acknowledged.
func faultRedis(t *testing.T) *redistest.Server {
	t.Helper()
	r, err := redistest.StartConfig(redistest.Config{Lines: []string{"appendonly yes", "appendfsync always"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// verifyStore checks every index of the store at url against its resources.
func verifyStore(t *testing.T, url string) {
	t.Helper()
	s, err := redisstore.Open(ctxT(t), url, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	problems, err := s.Verify(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// readiness reads, from tagway's log, when its readiness changed: the
// prober logs each change, and /readyz and gRPC health answer from it.
// (Polling /readyz from the test would miss a short outage whenever the
// loaded machine delays the poller.)
type readiness struct {
	tw *tagwaytest.Proc
}

type readyChange struct {
	at    time.Time
	ready bool
}

func watchReadiness(tw *tagwaytest.Proc) *readiness { return &readiness{tw: tw} }

func (r *readiness) changes() []readyChange {
	var out []readyChange
	for _, line := range r.tw.Lines() {
		var ready bool
		switch {
		case strings.Contains(line, "the tag store does not answer: not ready"):
		case strings.Contains(line, "the tag store answers again: ready"):
			ready = true
		default:
			continue
		}
		stamp, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			continue
		}
		out = append(out, readyChange{at, ready})
	}
	return out
}

// outage returns when readiness first went down after t, and when it came
// back after that; zero times for what did not happen.
func (r *readiness) outage(t time.Time) (down, up time.Time) {
	for _, c := range r.changes() {
		switch {
		case c.at.Before(t):
		case down.IsZero() && !c.ready:
			down = c.at
		case !down.IsZero() && c.ready:
			return down, c.at
		}
	}
	return down, up
}

func (r *readiness) String() string {
	var b strings.Builder
	for _, c := range r.changes() {
		fmt.Fprintf(&b, "%s %v; ", c.at.Format("15:04:05.000"), c.ready)
	}
	return b.String()
}

func (r *readiness) halt() {}

// TestFaultRedisKilled kills Redis with SIGKILL under load and restarts it:
// tagway answers with documented errors meanwhile, comes back without a
// restart, and loses nothing it acknowledged.
func TestFaultRedisKilled(t *testing.T) {
	r := faultRedis(t)
	tw := tagwaytest.Start(t, binary, "--store", r.URL())
	cycles := 1
	if chaosFull() {
		cycles = 4
	}
	l := newLoad(t, tw)
	l.start(2)
	ready := watchReadiness(tw)
	time.Sleep(time.Second)
	for range cycles {
		r.Kill()
		killed := time.Now()
		t.Logf("killed at %s", killed.Format("15:04:05.000"))
		time.Sleep(time.Second)
		if err := r.Restart(); err != nil {
			t.Fatal(err)
		}
		restarted := time.Now()
		time.Sleep(1500 * time.Millisecond)
		down, up := ready.outage(killed)
		if down.IsZero() || down.Sub(killed) > 2*time.Second {
			t.Errorf("not ready %v after Redis died; want within 2s (readiness changes: %v)", down.Sub(killed), ready.String())
		}
		if up.IsZero() || up.Sub(restarted) > time.Second {
			t.Errorf("ready %v after Redis came back; want within 1s", up.Sub(restarted))
		}
	}
	l.halt()
	ready.halt()
	l.check(tw, false)
	verifyStore(t, r.URL())
}

// TestFaultRedisPaused stops Redis (SIGSTOP) under load, the case that once
// let abandoned changes land after later ones: every call answers within
// --store-timeout and a margin, readiness follows within 2 s (and 1 s back),
// and no failed change lands after a later acknowledged one.
func TestFaultRedisPaused(t *testing.T) {
	r := faultRedis(t)
	tw := tagwaytest.Start(t, binary, "--store", r.URL())
	hc := healthpb.NewHealthClient(dialGRPC(t, tw))
	pause := 3 * time.Second
	cycles := 1
	if chaosFull() {
		pause, cycles = 15*time.Second, 2
	}
	l := newLoad(t, tw)
	l.start(2)
	ready := watchReadiness(tw)
	time.Sleep(time.Second)
	for range cycles {
		if err := r.Pause(); err != nil {
			t.Fatal(err)
		}
		paused := time.Now()
		healthDown := waitHealth(t, hc, healthpb.HealthCheckResponse_NOT_SERVING, 5*time.Second)
		if resp, err := http.Get(tw.URL() + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("/readyz during the pause: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		time.Sleep(pause - time.Since(paused))
		if err := r.Resume(); err != nil {
			t.Fatal(err)
		}
		resumed := time.Now()
		healthUp := waitHealth(t, hc, healthpb.HealthCheckResponse_SERVING, 5*time.Second)
		time.Sleep(1500 * time.Millisecond)
		down, up := ready.outage(paused)
		if down.IsZero() || down.Sub(paused) > 2*time.Second {
			t.Errorf("/readyz not ready %v after the pause; want within 2s", down.Sub(paused))
		}
		if up.IsZero() || up.Sub(resumed) > time.Second {
			t.Errorf("/readyz ready %v after the resume; want within 1s", up.Sub(resumed))
		}
		if d := healthDown.Sub(paused); d > 2*time.Second {
			t.Errorf("gRPC health NOT_SERVING %v after the pause", d)
		}
		if d := healthUp.Sub(resumed); d > time.Second {
			t.Errorf("gRPC health SERVING %v after the resume", d)
		}
	}
	l.halt()
	ready.halt()
	// --store-timeout is 1 s: a failed call answers within it, plus the
	// time to answer.
	if d := l.slowest[outcomeFailed]; d > 1500*time.Millisecond {
		t.Errorf("a failed call took %v to answer", d)
	}
	l.check(tw, false)
	verifyStore(t, r.URL())
}

// waitHealth waits until gRPC health reports want and returns when.
func waitHealth(t *testing.T, hc healthpb.HealthClient, want healthpb.HealthCheckResponse_ServingStatus, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == want {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("gRPC health is not %v within %v", want, within)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestFaultSIGTERMUnderLoad stops tagway while all three surfaces call it:
// every call that reached it gets an answer (only new connections may be
// refused once it stops listening), and nothing lands after it exits.
func TestFaultSIGTERMUnderLoad(t *testing.T) {
	r := faultRedis(t)
	rounds := 1
	if chaosFull() {
		rounds = 5
	}
	for range rounds {
		tw := tagwaytest.Start(t, binary, "--store", r.URL())
		l := newLoad(t, tw)
		l.start(3)
		time.Sleep(time.Second)
		tw.Signal(t, syscall.SIGTERM)
		if err := <-tw.Done(); err != nil {
			t.Fatalf("tagway exited with %v", err)
		}
		exited := dirty(t, r)
		l.halt()
		time.Sleep(time.Second)
		if after := dirty(t, r); after != exited {
			t.Errorf("%d writes landed after tagway exited", after-exited)
		}
		l.check(tagwaytest.Start(t, binary, "--store", r.URL()), false)
	}
	verifyStore(t, r.URL())
}

// TestFaultSIGTERMStoreStuck stops tagway while Redis holds every write
// (CLIENT PAUSE WRITE): the calls under way get the dialects' store errors
// before tagway exits, and when Redis lets the held changes run, none of
// them writes anything.
func TestFaultSIGTERMStoreStuck(t *testing.T) {
	r := faultRedis(t)
	tw := tagwaytest.Start(t, binary, "--store", r.URL())
	l := newLoad(t, tw)
	l.start(2)
	time.Sleep(time.Second)
	if _, err := r.Do("CLIENT", "PAUSE", "20000", "WRITE"); err != nil {
		t.Fatal(err)
	}
	held := dirty(t, r)
	time.Sleep(300 * time.Millisecond) // changes queue up behind the pause
	tw.Signal(t, syscall.SIGTERM)
	select {
	case err := <-tw.Done():
		if err != nil {
			t.Fatalf("tagway exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tagway did not exit within 10s with the store stuck")
	}
	l.halt()
	if _, err := r.Do("CLIENT", "UNPAUSE"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if after := dirty(t, r); after != held {
		t.Errorf("%d writes landed after tagway exited", after-held)
	}
	if l.outcomes["grpc/"+outcomeFailed]+l.outcomes["aws/"+outcomeFailed]+l.outcomes["huawei/"+outcomeFailed] == 0 {
		t.Errorf("no call failed with the store stuck: %v", l.outcomes)
	}
	l.check(tagwaytest.Start(t, binary, "--store", r.URL()), false)
	verifyStore(t, r.URL())
}

// dirty returns how many writes Redis has taken since its last save: a
// counter that moves with every write, and only with writes.
func dirty(t *testing.T, r *redistest.Server) int {
	t.Helper()
	info, err := r.Do("INFO", "persistence")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "rdb_changes_since_last_save:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("INFO persistence has no rdb_changes_since_last_save")
	return 0
}

// TestFaultBodies sends bodies a byte at a time and many maximal bodies at
// once: the trickles are cut after --http-body-timeout with the dialect's
// error, and tagway's memory stays bounded.
func TestFaultBodies(t *testing.T) {
	tw := tagwaytest.Start(t, binary, "--http-body-timeout", "1s", "--http-max-inflight-bytes", "67108864")
	trickles, bodies := 50, 16
	if chaosFull() {
		trickles, bodies = 400, 64
	}
	var wg sync.WaitGroup
	answers := make(chan string, trickles)
	for i := range trickles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers <- trickle(t, tw, i%2 == 0)
		}()
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		if a != "408" {
			t.Errorf("a trickled body was answered %q, want 408 within 3s", a)
		}
	}

	base := peakRSS(t, tw)
	// 1000 ARNs of 4 KB each: a 4 MB body that decodes (and is refused).
	var b strings.Builder
	b.WriteString(`{"ResourceARNList":[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"arn:aws:ec2:us-east-1:123456789012:instance/` + strings.Repeat("x", 4000) + `"`)
	}
	b.WriteString(`],"TagKeys":["k"]}`)
	body := []byte(b.String())
	codes := make(chan int, bodies)
	for range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, tw.URL()+"/", bytes.NewReader(body))
			req.Header.Set("X-Amz-Target", "ResourceGroupsTaggingAPI_20170126.UntagResources")
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- -1
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	seen := map[int]int{}
	for c := range codes {
		seen[c]++
	}
	if seen[-1] > 0 || seen[400] == 0 {
		t.Errorf("answers to %d maximal bodies: %v", bodies, seen)
	}
	peak := peakRSS(t, tw)
	t.Logf("peak RSS %d MiB before the bodies, %d MiB after %d concurrent 4 MB bodies (answers %v)", base>>20, peak>>20, bodies, seen)
	if peak-base > 320<<20 {
		t.Errorf("tagway grew by %d MiB", (peak-base)>>20)
	}
}

// trickle sends a request whose body comes a byte every 200 ms, and
// returns the status tagway answers with ("" for none within 3 s).
func trickle(t *testing.T, tw *tagwaytest.Proc, huawei bool) string {
	conn, err := net.Dial("tcp", tw.HTTP)
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	head := "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetTagKeys\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n"
	if huawei {
		head = "POST /v1/organizations/resources/ou-1/tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
	}
	fmt.Fprint(conn, head)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	line := make([]byte, 12)
	if _, err := io.ReadFull(conn, line); err != nil {
		return ""
	}
	return strings.TrimPrefix(string(line), "HTTP/1.1 ")
}

// peakRSS returns tagway's peak resident memory (VmHWM), in bytes.
func peakRSS(t *testing.T, tw *tagwaytest.Proc) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tw.PID()))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
