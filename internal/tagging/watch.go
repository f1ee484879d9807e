package tagging

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/pagetoken"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/watch"
)

// Reasons of the errors of WatchTagChanges.
const (
	// ReasonResumeTokenExpired: the resume token is older than the feed's
	// retention; list again, then watch without a token.
	ReasonResumeTokenExpired = "RESUME_TOKEN_EXPIRED"
	// ReasonInvalidResumeToken: the resume token is malformed, forged, or
	// from another request.
	ReasonInvalidResumeToken = "INVALID_RESUME_TOKEN"
	// ReasonFeedOff: the change feed is turned off.
	ReasonFeedOff = "FEED_OFF"
	// ReasonSlowWatcher: the client did not read its events in time.
	ReasonSlowWatcher = "SLOW_WATCHER"
)

// Bounds of one watch.
const (
	// watchQueue is how many changes wait for a slow client at most.
	watchQueue = 1024
	// watchBatch is how many of them one message holds at most.
	watchBatch = 64
	// DefaultSlowWatcher is how long a full queue may wait for the client
	// before the stream ends with RESOURCE_EXHAUSTED.
	DefaultSlowWatcher = 30 * time.Second
	// abortGrace is how long a watch that ends waits for its queue to be
	// written before it cuts the client off.
	abortGrace = time.Second
	// resumeTokenTTL bounds the age of a resume token's signature; the
	// feed's retention, checked by the store, is the real bound.
	resumeTokenTTL = 100 * 365 * 24 * time.Hour
)

var errTokenExpired = withInfo(codes.OutOfRange, ReasonResumeTokenExpired,
	"resume_token: the token is older than the change feed's retention, and changes after it may be lost: list the resources again, then watch without a resume token",
	map[string]string{"field": "resume_token"})

// Aborter is a stream whose blocked Send can be cut short, so that
// WatchTagChanges can wait for its sender before it returns (the HTTP
// view's streams are; gRPC's need not be: gRPC ends a blocked Send when
// the handler returns).
type Aborter interface {
	Abort()
}

// WatchTagChanges implements tagwayv1.TaggingServiceServer.
func (s *Service) WatchTagChanges(req *tagwayv1.WatchTagChangesRequest, stream grpc.ServerStreamingServer[tagwayv1.WatchTagChangesResponse]) error {
	ctx := stream.Context()
	if s.hub == nil {
		return withInfo(codes.FailedPrecondition, ReasonFeedOff, "the change feed is turned off (--feed-retention 0)", nil)
	}
	sc, err := scopes(req.GetScopes())
	if err != nil {
		return err
	}
	keys := req.GetTagKeys()
	if err := count("tag_keys", len(keys), 0, MaxTags); err != nil {
		return err
	}
	for i, k := range keys {
		if n := utf8.RuneCountInString(k); n == 0 || n > MaxKeyLength {
			return invalid("tag_keys", i, "the tag key is %d characters long; a key has 1 to %d", n, MaxKeyLength)
		}
	}
	query := fingerprint(ctx, req, func(m proto.Message) { m.(*tagwayv1.WatchTagChangesRequest).ResumeToken = "" })
	var from *watch.Position
	if tok := req.GetResumeToken(); tok != "" {
		p, err := s.decodeResumeToken(tok, query)
		if err != nil {
			problem := "the resume token is malformed, forged, or from another request: " + err.Error()
			return withInfo(codes.InvalidArgument, ReasonInvalidResumeToken, "resume_token: "+problem, map[string]string{"field": "resume_token", "problem": problem})
		}
		from = &p
	}
	g := grantOf(ctx)
	ranges := arn.GroupRanges(sc)
	if !g.Unrestricted {
		ranges = arn.IntersectRanges(ranges, arn.GroupRanges(g.Scopes))
	}
	kindsIn := func(grp arn.Group) []arn.Kind {
		kinds := arn.Kinds(sc, grp)
		if !g.Unrestricted {
			kinds = arn.IntersectKinds(kinds, arn.Kinds(g.Scopes, grp))
		}
		return kinds
	}
	groups := func(grp arn.Group) bool {
		k := kindsIn(grp)
		return k == nil || len(k) > 0
	}
	match := func(e *tagstore.Event) bool {
		if !arn.MatchKinds(kindsIn(e.Group), e.Ident) {
			return false
		}
		if len(keys) == 0 {
			return true
		}
		return slices.ContainsFunc(e.Changes, func(c tagstore.KeyChange) bool { return slices.Contains(keys, c.Key) })
	}
	w, err := s.hub.Watch(ctx, watch.Spec{Ranges: ranges, Groups: groups, Match: match, From: from})
	if errors.Is(err, tagstore.ErrFeedTrimmed) {
		return errTokenExpired
	}
	if err != nil {
		return s.storeFailed(ctx, err)
	}
	defer w.Close()

	// The client gets its messages from a queue, so that a client that
	// stops reading is found out (the queue stays full) and let go, rather
	// than holding the watch forever.
	queue := make(chan *tagwayv1.WatchTagChangesResponse, watchQueue/watchBatch)
	sendErr := make(chan error, 1)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for m := range queue {
			if err := stream.Send(m); err != nil {
				sendErr <- err
				return
			}
		}
	}()
	finish := func(err error) error {
		close(queue)
		if a, ok := stream.(Aborter); ok {
			// Let the sender write what is queued, unless the client
			// does not read it.
			select {
			case <-sent:
			case <-time.After(abortGrace):
				a.Abort()
				<-sent
			}
		}
		return err
	}
	tokens := resumeTokens{codec: s.watchTokens, query: pagetoken.HashQuery(query)}
	// The first message is a progress marker: the watch is established,
	// and its token resumes from here.
	queue <- &tagwayv1.WatchTagChangesResponse{ResumeToken: tokens.of(w.Mark())}
	slow := time.NewTimer(s.slowWatcher)
	defer slow.Stop()
	for {
		items, err := w.Next(ctx)
		switch {
		case errors.Is(err, tagstore.ErrFeedTrimmed):
			return finish(errTokenExpired)
		case err != nil && ctx.Err() != nil:
			return finish(ctx.Err())
		case err != nil:
			return finish(s.storeFailed(ctx, err))
		}
		for len(items) > 0 {
			var m *tagwayv1.WatchTagChangesResponse
			m, items = message(&tokens, items)
			select {
			case queue <- m:
				continue
			default:
			}
			slow.Reset(s.slowWatcher)
			select {
			case queue <- m:
			case err := <-sendErr:
				return finish(err)
			case <-ctx.Done():
				return finish(ctx.Err())
			case <-slow.C:
				return finish(withInfo(codes.ResourceExhausted, ReasonSlowWatcher,
					fmt.Sprintf("the client did not read its changes for %v while up to %d waited: resume with the last resume token it received", s.slowWatcher, watchQueue), nil))
			}
		}
	}
}

// A resume token is a watch position in two parts: a checkpoint, signed
// with the page-token codec and bound to the request, and, after a dot, the
// groups that moved on since (watch.AppendMoves, base64), unsigned. The
// checkpoint is signed once for many messages; the moves cost an append.
// Moves can only take a position forward (watch.Position.Advance), so a
// client that forges them can only skip events of its own watch: it cannot
// go back before a checkpoint issued to it, nor widen what it watches.
const movesSep = "."

// maxMovesLen bounds the moves part of a resume token.
const maxMovesLen = 4096

// message returns the message of the first items, and the items left: a
// progress marker, or up to watchBatch changes.
func message(tokens *resumeTokens, items []watch.Item) (*tagwayv1.WatchTagChangesResponse, []watch.Item) {
	if items[0].Event == nil {
		return &tagwayv1.WatchTagChangesResponse{ResumeToken: tokens.of(items[0].Mark)}, items[1:]
	}
	// Take changes while the message stays under maxMessageBytes (the
	// first whatever its size), writing their tokens into one buffer.
	tokens.out = tokens.out[:0]
	var picked []*rendered
	var ends []int
	size := 0
	for _, it := range items[:min(len(items), watchBatch)] {
		if it.Event == nil {
			break
		}
		r, ok := it.Rendered.(*rendered)
		if !ok {
			r = render(it.Event)
		}
		start := len(tokens.out)
		end := tokens.append(it.Mark)
		if grown := size + r.size + (end - start) + 16; len(picked) == 0 || grown <= maxMessageBytes {
			size = grown
		} else {
			tokens.out = tokens.out[:start]
			break
		}
		picked, ends = append(picked, r), append(ends, end)
	}
	n := len(picked)
	joined := string(tokens.out)
	changes := make([]tagwayv1.WatchedChange, n)
	m := &tagwayv1.WatchTagChangesResponse{Changes: make([]*tagwayv1.WatchedChange, n)}
	start := 0
	for i, r := range picked {
		c := &changes[i]
		c.Change, c.ResumeToken, start = r.change, joined[start:ends[i]], ends[i]
		m.Changes[i] = c
	}
	m.ResumeToken = m.Changes[n-1].ResumeToken
	return m, items[n:]
}

// maxMessageBytes bounds the size of a message of WatchTagChanges: gRPC's
// buffer pools hand out 32 KiB buffers, and a larger message gets, and
// clears, a 1 MiB one.
const maxMessageBytes = 30 << 10

// rendered is an event's message, made once for every watcher
// (watch.Options.Render), and its encoded size.
type rendered struct {
	change *tagwayv1.TagChange
	size   int
}

func render(e *tagstore.Event) *rendered {
	c := changeOf(e)
	return &rendered{change: c, size: proto.Size(c)}
}

// resumeTokens writes the resume tokens of one watch.
type resumeTokens struct {
	codec  *pagetoken.Codec
	query  pagetoken.Query
	cp     *watch.Position // the checkpoint signed last
	signed string
	moves  []byte // scratch
	out    []byte // scratch
}

// of returns the resume token of m.
func (t *resumeTokens) of(m watch.Mark) string {
	t.out = t.out[:0]
	return string(t.out[:t.append(m)])
}

// append appends the token of m to t.out, and returns its end there.
func (t *resumeTokens) append(m watch.Mark) int {
	if m.Checkpoint != t.cp {
		t.cp, t.signed = m.Checkpoint, t.codec.EncodeQuery(t.query, m.Checkpoint.Cursor()...)
	}
	t.out = append(t.out, t.signed...)
	if len(m.Moved) > 0 {
		t.moves = watch.AppendMoves(t.moves[:0], m.Moved)
		t.out = append(t.out, movesSep...)
		t.out = base64.RawURLEncoding.AppendEncode(t.out, t.moves)
	}
	return len(t.out)
}

// decodeResumeToken returns the position a resume token of query stands
// for.
func (s *Service) decodeResumeToken(tok string, query []byte) (watch.Position, error) {
	signed, moves, hasMoves := strings.Cut(tok, movesSep)
	cursor, err := s.watchTokens.DecodeAll(signed, query)
	if err != nil {
		return watch.Position{}, err
	}
	p, err := watch.ParseCursor(cursor)
	if err != nil {
		return watch.Position{}, pagetoken.ErrMalformed
	}
	if hasMoves {
		if len(moves) > maxMovesLen {
			return watch.Position{}, pagetoken.ErrMalformed
		}
		b, err := base64.RawURLEncoding.DecodeString(moves)
		if err != nil {
			return watch.Position{}, pagetoken.ErrMalformed
		}
		m, err := watch.ParseMoves(b)
		if err != nil || len(m) == 0 {
			return watch.Position{}, pagetoken.ErrMalformed
		}
		p.Advance(m)
	}
	return p, nil
}

// changeOf is the message of one event.
func changeOf(e *tagstore.Event) *tagwayv1.TagChange {
	c := &tagwayv1.TagChange{
		Resource:  e.Resource(),
		Tags:      make([]*tagwayv1.Tag, len(e.Tags)),
		Time:      timestamppb.New(e.Pos.Time()),
		Surface:   e.Surface,
		Operation: e.Operation,
		Principal: e.Principal,
		RequestId: e.RequestID,
		Id:        e.Group.Key() + "/" + e.Pos.String(),
	}
	for i, t := range e.Tags {
		c.Tags[i] = &tagwayv1.Tag{Key: t.Key, Value: t.Value}
	}
	for _, k := range e.Changes {
		switch {
		case !k.Had:
			c.Added = append(c.Added, &tagwayv1.Tag{Key: k.Key, Value: k.New})
		case !k.Has:
			c.Removed = append(c.Removed, &tagwayv1.Tag{Key: k.Key, Value: k.Old})
		default:
			c.Changed = append(c.Changed, &tagwayv1.ChangedTag{Key: k.Key, OldValue: k.Old, NewValue: k.New})
		}
	}
	return c
}

// feedHub returns the hub of a store's feed, nil when it has none.
func feedHub(store tagstore.Store, o options) (*watch.Hub, error) {
	if _, ok := tagstore.FeedOf(store); !ok || o.noFeed {
		return nil, nil
	}
	wo := o.watch
	// Each event is made into its message once, for every watcher.
	wo.Render = func(e *tagstore.Event) any { return render(e) }
	if wo.Timeout <= 0 {
		wo.Timeout = o.timeout
	}
	if wo.OnError == nil {
		f := o.failures
		wo.OnError = func(ctx context.Context, err error) { f.Report(ctx, "feed", err) }
	}
	return watch.New(store, wo)
}
