package tagging

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// watchQueue is how many messages wait for a slow client at most.
	watchQueue = 256
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
		cursor, err := s.watchTokens.DecodeAll(tok, query)
		var p watch.Position
		if err == nil {
			p, err = watch.ParseCursor(cursor)
		}
		if err != nil {
			if errors.Is(err, watch.ErrBadCursor) {
				err = pagetoken.ErrMalformed
			}
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
	queue := make(chan *tagwayv1.WatchTagChangesResponse, watchQueue)
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
	// The first message is a progress marker: the watch is established,
	// and its token resumes from here.
	queue <- &tagwayv1.WatchTagChangesResponse{ResumeToken: s.watchTokens.Encode(query, w.Position().Cursor()...)}
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
		for _, it := range items {
			m := &tagwayv1.WatchTagChangesResponse{ResumeToken: s.watchTokens.Encode(query, it.After.Cursor()...)}
			if it.Event != nil {
				m.Change = changeOf(it.Event)
			}
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
					fmt.Sprintf("the client did not read its changes for %v while %d waited: resume with the last resume token it received", s.slowWatcher, watchQueue), nil))
			}
		}
	}
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
	if wo.Timeout <= 0 {
		wo.Timeout = o.timeout
	}
	if wo.OnError == nil {
		f := o.failures
		wo.OnError = func(ctx context.Context, err error) { f.Report(ctx, "feed", err) }
	}
	return watch.New(store, wo)
}
