package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/tagstore"
)

// DefaultFeedRetention is how long the change feed keeps events.
const DefaultFeedRetention = 24 * time.Hour

// feedSkew is how far a feed position may be within the retention and
// still be refused as trimmed: it covers the error of the estimate of the
// server's clock, so that no position whose later events may have been
// trimmed is accepted.
const feedSkew = 200 * time.Millisecond

var _ tagstore.Feed = (*Store)(nil)

// feedCutoff is the time (ms, by the server's clock) before which the
// feed and the journal keep nothing: XADD's MINID.
func (s *Store) feedCutoff() int64 { return s.nowMs() - s.feedRetention.Milliseconds() }

// originField is the o field of a feed entry.
func originField(o tagstore.Origin) string {
	return o.Surface + "\x1f" + o.Operation + "\x1f" + o.Principal + "\x1f" + o.RequestID
}

// ReadFeed implements tagstore.Feed: one XRANGE per read, in one pipeline.
func (s *Store) ReadFeed(ctx context.Context, reads []tagstore.FeedRead, limit int) ([]tagstore.FeedResult, error) {
	if s.feedRetention <= 0 {
		return nil, tagstore.ErrNoFeed
	}
	out := make([]tagstore.FeedResult, len(reads))
	cmds := make([]*redis.XMessageSliceCmd, len(reads))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range reads {
			if s.trimmed(r.After) {
				out[i].Err = tagstore.ErrFeedTrimmed
				continue
			}
			cmds[i] = p.XRangeN(ctx, s.groupPrefix(r.Group)+"feed", "("+r.After.String(), "+", int64(limit))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		msgs, err := cmd.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		evs := make([]tagstore.Event, 0, len(msgs))
		for _, m := range msgs {
			e, err := decodeEntry(m)
			if err != nil {
				return nil, err
			}
			e.Group = reads[i].Group
			evs = append(evs, e)
		}
		out[i].Events, out[i].More = evs, len(msgs) == limit
	}
	return out, nil
}

// trimmed reports whether events after p may have been trimmed.
func (s *Store) trimmed(p tagstore.Pos) bool {
	return int64(p.Ms) < s.feedCutoff()+feedSkew.Milliseconds()
}

// CheckFeed implements tagstore.Feed.
func (s *Store) CheckFeed(_ context.Context, p tagstore.Pos) error {
	if s.feedRetention <= 0 {
		return tagstore.ErrNoFeed
	}
	if s.trimmed(p) {
		return tagstore.ErrFeedTrimmed
	}
	return nil
}

// decodeEntry reads one feed entry (apply.lua writes them).
func decodeEntry(m redis.XMessage) (tagstore.Event, error) {
	var e tagstore.Event
	pos, err := tagstore.ParsePos(m.ID)
	if err != nil {
		return e, err
	}
	e.Pos = pos
	// go-redis gives the fields as a map, which keeps one of each name:
	// every name is distinct (a key once per prefix).
	for f, raw := range m.Values {
		v, _ := raw.(string)
		switch {
		case f == "o":
			parts := strings.SplitN(v, "\x1f", 4)
			for len(parts) < 4 {
				parts = append(parts, "")
			}
			e.Origin = tagstore.Origin{Surface: parts[0], Operation: parts[1], Principal: parts[2], RequestID: parts[3]}
		case f == "i":
			e.Ident = v
		case strings.HasPrefix(f, "="):
			e.Tags = append(e.Tags, tagstore.Tag{Key: f[1:], Value: v})
		case strings.HasPrefix(f, "+"):
			e.Changes = append(e.Changes, tagstore.KeyChange{Key: f[1:], Has: true})
		case strings.HasPrefix(f, "~"):
			e.Changes = append(e.Changes, tagstore.KeyChange{Key: f[1:], Old: v, Had: true, Has: true})
		case strings.HasPrefix(f, "-"):
			e.Changes = append(e.Changes, tagstore.KeyChange{Key: f[1:], Old: v, Had: true})
		default:
			return e, fmt.Errorf("redisstore: feed entry %s has an unknown field %q", m.ID, f)
		}
	}
	tagstore.SortTags(e.Tags)
	tagstore.SortChanges(e.Changes)
	j := 0
	for i := range e.Changes {
		c := &e.Changes[i]
		if !c.Has {
			continue
		}
		for j < len(e.Tags) && e.Tags[j].Key < c.Key {
			j++
		}
		if j < len(e.Tags) && e.Tags[j].Key == c.Key {
			c.New = e.Tags[j].Value
		}
	}
	return e, nil
}

// FeedNow implements tagstore.Feed, from the least the server's clock can
// read (refreshed by every Ping): a Ping whose request waited, under load,
// before it reached the server would put the midpoint estimate ahead of the
// server, and a watch started there would miss the changes of the next
// moments.
func (s *Store) FeedNow(context.Context) (tagstore.Pos, error) {
	low := (time.Now().UnixMicro() + s.offsetLow.Load()) / 1000
	return tagstore.Pos{Ms: uint64(low - settleMargin.Milliseconds()), Seq: ^uint64(0)}, nil
}

// NotifyFeed implements tagstore.Feed: one subscription to the feed's
// channel per store, while someone listens.
func (s *Store) NotifyFeed(fn func(group string)) func() {
	return s.notices.add(s, fn)
}

// notices fans the feed channel's messages out to the listeners, with one
// subscription while there are any.
type notices struct {
	tagstore.Listeners
	mu     sync.Mutex // over the subscription
	cancel func()
}

// noticePing is how long the receiver waits for a message before it pings
// the server, to find a connection that died silently.
const noticePing = 30 * time.Second

func (n *notices) add(s *Store, fn func(string)) func() {
	n.mu.Lock()
	defer n.mu.Unlock()
	id := n.Add(fn)
	if n.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		ps := s.client.Subscribe(ctx, s.feedChannel)
		done := make(chan struct{})
		go func() {
			defer close(done)
			n.receive(ctx, ps)
		}()
		n.cancel = func() {
			cancel()
			_ = ps.Close()
			<-done
		}
	}
	return func() {
		n.mu.Lock()
		var stop func()
		if n.Remove(id) == 0 && n.cancel != nil {
			stop, n.cancel = n.cancel, nil
		}
		n.mu.Unlock()
		if stop != nil {
			stop()
		}
	}
}

// receive hands each message of ps to the listeners until ctx ends. It
// reads the subscription itself, rather than through go-redis's Channel,
// which would add a goroutine and a hand-over per message: a notice comes
// with every change, so its cost counts. Like Channel, it pings after
// noticePing without a message, so that a dead connection is found and
// replaced (go-redis reconnects and subscribes again on the next read).
func (n *notices) receive(ctx context.Context, ps *redis.PubSub) {
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, noticePing)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = ps.Ping(ctx)
				continue
			}
			// Lost notices only delay watchers until their next sweep.
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
			continue
		}
		pause = 100 * time.Millisecond
		if m, ok := msg.(*redis.Message); ok {
			n.Notify(m.Payload)
		}
	}
}

func (n *notices) close() {
	n.mu.Lock()
	stop := n.cancel
	n.cancel = nil
	n.mu.Unlock()
	if stop != nil {
		stop()
	}
}

var _ tagstore.Journal = (*Store)(nil)

// journalKey is the audit journal: one stream, on one slot.
func (s *Store) journalKey() string { return s.prefix + "{audit}:log" }

// AppendJournal implements tagstore.Journal: XADD, trimmed like the feed.
func (s *Store) AppendJournal(ctx context.Context, data []byte) error {
	if s.feedRetention <= 0 {
		return tagstore.ErrNoFeed
	}
	minID := strconv.FormatInt(s.feedCutoff(), 10)
	return s.client.XAdd(ctx, &redis.XAddArgs{Stream: s.journalKey(), MinID: minID, Approx: true, Values: []any{"d", data}}).Err()
}

// ReadJournal implements tagstore.Journal.
func (s *Store) ReadJournal(ctx context.Context, after, until tagstore.Pos, limit int) ([]tagstore.JournalEntry, error) {
	if s.feedRetention <= 0 {
		return nil, tagstore.ErrNoFeed
	}
	msgs, err := s.client.XRangeN(ctx, s.journalKey(), "("+after.String(), "("+until.String(), int64(limit)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]tagstore.JournalEntry, 0, len(msgs))
	for _, m := range msgs {
		p, err := tagstore.ParsePos(m.ID)
		if err != nil {
			return nil, err
		}
		d, _ := m.Values["d"].(string)
		out = append(out, tagstore.JournalEntry{Pos: p, Data: []byte(d)})
	}
	return out, nil
}
