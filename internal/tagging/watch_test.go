package tagging_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
	"github.com/tagway/tagway/internal/watch"
)

// watchStream is a WatchTagChanges stream that hands its messages to a
// channel; with a non-nil hold, Send waits until hold is closed.
type watchStream struct {
	grpc.ServerStream
	ctx  context.Context
	out  chan *tagwayv1.WatchTagChangesResponse
	hold chan struct{}

	pending []*tagwayv1.WatchedChange // read from out, not yet taken by nextChange
}

func (s *watchStream) Context() context.Context { return s.ctx }
func (s *watchStream) Send(m *tagwayv1.WatchTagChangesResponse) error {
	if s.hold != nil {
		select {
		case <-s.hold:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
	select {
	case s.out <- m:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}
func (s *watchStream) SetHeader(metadata.MD) error  { return nil }
func (s *watchStream) SendHeader(metadata.MD) error { return nil }
func (s *watchStream) SetTrailer(metadata.MD)       {}

// startWatch runs WatchTagChanges in the background; cancel ends it, and
// the returned channel gives its error.
func startWatch(t *testing.T, ctx context.Context, s *tagging.Service, req *tagwayv1.WatchTagChangesRequest, hold chan struct{}) (*watchStream, <-chan error) {
	st := &watchStream{ctx: ctx, out: make(chan *tagwayv1.WatchTagChangesResponse, 1000), hold: hold}
	done := make(chan error, 1)
	go func() { done <- s.WatchTagChanges(req, st) }()
	if hold == nil {
		// The first message says the watch is established.
		select {
		case m := <-st.out:
			if len(m.GetChanges()) > 0 || m.GetResumeToken() == "" {
				t.Fatalf("first message: %v", m)
			}
		case err := <-done:
			return st, errAgain(err)
		}
	}
	return st, done
}

// nextChange returns the next change of st, skipping progress markers.
func nextChange(t *testing.T, st *watchStream, done <-chan error) *tagwayv1.WatchedChange {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		if len(st.pending) > 0 {
			c := st.pending[0]
			st.pending = st.pending[1:]
			return c
		}
		select {
		case m := <-st.out:
			cs := m.GetChanges()
			if m.GetResumeToken() == "" || len(cs) > 0 && cs[len(cs)-1].GetResumeToken() != m.GetResumeToken() {
				t.Fatalf("a message without a resume token, or one that is not its last change's: %v", m)
			}
			for _, c := range cs {
				if c.GetChange() == nil || c.GetResumeToken() == "" {
					t.Fatalf("a change without its change or its resume token: %v", c)
				}
			}
			st.pending = cs
		case err := <-done:
			t.Fatalf("the watch ended: %v", err)
		case <-timeout:
			t.Fatal("no change within 10 s")
		}
	}
}

func fastWatch() tagging.Option {
	return tagging.WithWatch(watch.Options{Sweep: 50 * time.Millisecond, Progress: 100 * time.Millisecond, Skew: 50 * time.Millisecond})
}

func TestWatchTagChanges(t *testing.T) {
	s := newService(t, memstore.New(), fastWatch())
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := "arn:aws:ec2:us-east-1:111111111111:instance/i-1"
	other := "arn:aws:ec2:us-east-1:222222222222:instance/i-1"
	req := &tagwayv1.WatchTagChangesRequest{Scopes: []*tagwayv1.ResourceScope{{Accounts: []string{"111111111111"}}}, TagKeys: []string{"env", "team"}}
	st, done := startWatch(t, wctx, s, req, nil)
	octx := tagstore.WithOrigin(ctx, tagstore.Origin{Surface: "aws", Operation: "TagResources", Principal: "p", RequestID: "r1"})
	if _, err := s.TagResources(octx, tagReq([]string{a, other}, "env", "prod", "team", "x")); err != nil {
		t.Fatal(err)
	}
	mustTag(t, s, []string{a}, "cost", "1")   // no watched key
	mustTag(t, s, []string{a}, "env", "prod") // changes nothing
	mustTag(t, s, []string{a}, "env", "dev")
	if _, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{a}, TagKeys: []string{"team", "absent"}}); err != nil {
		t.Fatal(err)
	}
	m1 := nextChange(t, st, done)
	c := m1.GetChange()
	if c.GetResource() != a || len(c.GetAdded()) != 2 || c.GetSurface() != "aws" || c.GetOperation() != "TagResources" || c.GetPrincipal() != "p" || c.GetRequestId() != "r1" || c.GetTime().AsTime().IsZero() {
		t.Fatalf("first change: %v", c)
	}
	c = nextChange(t, st, done).GetChange()
	if len(c.GetChanged()) != 1 || c.GetChanged()[0].GetOldValue() != "prod" || c.GetChanged()[0].GetNewValue() != "dev" || len(c.GetTags()) != 3 {
		t.Fatalf("second change: %v", c)
	}
	m3 := nextChange(t, st, done)
	if r := m3.GetChange().GetRemoved(); len(r) != 1 || r[0].GetKey() != "team" || r[0].GetValue() != "x" {
		t.Fatalf("third change: %v", m3.GetChange())
	}
	cancel()
	<-done

	// Resuming after the first change gives the second and third again.
	mustTag(t, s, []string{a}, "team", "y")
	r := &tagwayv1.WatchTagChangesRequest{Scopes: req.Scopes, TagKeys: req.TagKeys, ResumeToken: m1.GetResumeToken()}
	wctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	st2, done2 := startWatch(t, wctx2, s, r, nil)
	for _, want := range []string{"changed", "removed", "added"} {
		c := nextChange(t, st2, done2).GetChange()
		got := map[bool]string{len(c.GetChanged()) == 1: "changed", len(c.GetRemoved()) == 1: "removed", len(c.GetAdded()) == 1: "added"}[true]
		if got != want {
			t.Fatalf("resumed: got %v, want %s", c, want)
		}
	}
	cancel2()
	<-done2

	// A token of another request, or tampered with, is refused.
	for _, tok := range []string{m1.GetResumeToken() + "x", m1.GetResumeToken()} {
		bad := &tagwayv1.WatchTagChangesRequest{ResumeToken: tok}
		_, d := startWatch(t, ctx, s, bad, nil)
		if err := <-d; status.Code(err) != codes.InvalidArgument || tagging.Info(err).GetReason() != tagging.ReasonInvalidResumeToken {
			t.Fatalf("token %q: %v", tok, err)
		}
	}
}

func TestWatchScopedToGrant(t *testing.T) {
	s := newService(t, memstore.New(), fastWatch())
	g := tagging.Grant{Scopes: []arn.Scope{{Accounts: []string{"111111111111"}}}, Owner: "111111111111", Subject: "principal a"}
	wctx, cancel := context.WithCancel(tagging.WithGrant(ctx, g))
	defer cancel()
	st, done := startWatch(t, wctx, s, &tagwayv1.WatchTagChangesRequest{}, nil)
	mustTag(t, s, []string{"arn:aws:ec2:us-east-1:222222222222:instance/i-1"}, "k", "v")
	mustTag(t, s, []string{"arn:aws:ec2:us-east-1:111111111111:instance/i-1"}, "k", "v")
	if c := nextChange(t, st, done).GetChange(); c.GetResource() != "arn:aws:ec2:us-east-1:111111111111:instance/i-1" {
		t.Fatalf("a watch outside the grant: %v", c)
	}
}

func TestWatchExpiredToken(t *testing.T) {
	s := newService(t, memstore.New(memstore.WithFeed(200*time.Millisecond, 0)), tagging.WithWatch(watch.Options{Sweep: time.Hour, Progress: time.Hour, Skew: 10 * time.Millisecond}))
	wctx, cancel := context.WithCancel(ctx)
	st, done := startWatch(t, wctx, s, &tagwayv1.WatchTagChangesRequest{}, nil)
	mustTag(t, s, []string{"arn:aws:ec2:us-east-1:111111111111:instance/i-1"}, "k", "v")
	m := nextChange(t, st, done)
	cancel()
	<-done
	time.Sleep(300 * time.Millisecond)
	_, d := startWatch(t, ctx, s, &tagwayv1.WatchTagChangesRequest{ResumeToken: m.GetResumeToken()}, nil)
	if err := <-d; status.Code(err) != codes.OutOfRange || tagging.Info(err).GetReason() != tagging.ReasonResumeTokenExpired {
		t.Fatalf("an expired token: %v", err)
	}
}

func TestWatchSlowClient(t *testing.T) {
	s := newService(t, memstore.New(), fastWatch(), tagging.WithSlowWatcher(200*time.Millisecond))
	hold := make(chan struct{})
	defer close(hold)
	_, done := startWatch(t, ctx, s, &tagwayv1.WatchTagChangesRequest{}, hold)
	// Writers are never held up by the watch; its queue fills, and after
	// the slow-watcher delay the watch ends.
	give := time.After(20 * time.Second)
	for i := 0; ; i++ {
		mustTag(t, s, []string{"arn:aws:ec2:us-east-1:111111111111:instance/i-1"}, "k", fmt.Sprint(i))
		select {
		case err := <-done:
			if status.Code(err) != codes.ResourceExhausted || tagging.Info(err).GetReason() != tagging.ReasonSlowWatcher {
				t.Fatalf("slow client: %v", err)
			}
			return
		case <-give:
			t.Fatal("a client that reads nothing is held forever")
		default:
		}
	}
}

func TestWatchFeedOff(t *testing.T) {
	s := newService(t, memstore.New(), tagging.WithoutFeed())
	_, d := startWatch(t, ctx, s, &tagwayv1.WatchTagChangesRequest{}, nil)
	if err := <-d; status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("feed off: %v", err)
	}
}

// instances returns the names of n instances of one account and region,
// in order.
func instances(n int) []string {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%02d", i))
	}
	return names
}

// errAgain returns a channel that gives err.
func errAgain(err error) <-chan error {
	c := make(chan error, 1)
	c <- err
	return c
}

// TestWatchResumeInsideMessage: the changes of one call arrive in one
// message, and the token of any of them resumes right after it.
func TestWatchResumeInsideMessage(t *testing.T) {
	s := newService(t, memstore.New(), fastWatch())
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, done := startWatch(t, wctx, s, &tagwayv1.WatchTagChangesRequest{}, nil)
	names := instances(5)
	mustTag(t, s, names, "k", "v")
	var m *tagwayv1.WatchTagChangesResponse
	select {
	case m = <-st.out:
	case err := <-done:
		t.Fatal(err)
	}
	cs := m.GetChanges()
	if len(cs) != 5 || m.GetResumeToken() != cs[4].GetResumeToken() {
		t.Fatalf("one call's changes in one message, its token the last one's: %v", m)
	}
	cancel()
	<-done
	for i := range 4 {
		rctx, rcancel := context.WithCancel(ctx)
		st2, done2 := startWatch(t, rctx, s, &tagwayv1.WatchTagChangesRequest{ResumeToken: cs[i].GetResumeToken()}, nil)
		for _, want := range names[i+1:] {
			if got := nextChange(t, st2, done2).GetChange().GetResource(); got != want {
				t.Fatalf("resumed after change %d: got %s, want %s", i, got, want)
			}
		}
		select {
		case m := <-st2.out:
			if len(m.GetChanges()) > 0 {
				t.Fatalf("resumed after change %d: a change again: %v", i, m)
			}
		case <-time.After(150 * time.Millisecond):
		}
		rcancel()
		<-done2
	}
}

// TestWatchMessageSize: a message stays under 30 KiB, so gRPC encodes it
// in a pooled 32 KiB buffer; the changes of one call then span messages,
// in order.
func TestWatchMessageSize(t *testing.T) {
	s := newService(t, memstore.New(), fastWatch())
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, done := startWatch(t, wctx, s, &tagwayv1.WatchTagChangesRequest{}, nil)
	names := instances(40)
	var kv []string
	for k := range 8 {
		kv = append(kv, fmt.Sprintf("key-%d", k), strings.Repeat("v", 256))
	}
	mustTag(t, s, names, kv...)
	var got []string
	for len(got) < len(names) {
		select {
		case m := <-st.out:
			if n := proto.Size(m); n > 30<<10 {
				t.Fatalf("a message of %d bytes", n)
			}
			for _, c := range m.GetChanges() {
				got = append(got, c.GetChange().GetResource())
			}
		case err := <-done:
			t.Fatal(err)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d changes of %d", len(got), len(names))
		}
	}
	if !slices.Equal(got, names) {
		t.Fatalf("changes out of order: %v", got)
	}
}
