package memstore

import (
	"context"
	"sort"
	"time"

	"github.com/tagway/tagway/internal/tagstore"
)

// Defaults of the change feed.
const (
	// DefaultFeedRetention is how long events are kept.
	DefaultFeedRetention = 24 * time.Hour
	// DefaultFeedMax bounds the events kept per group, so that the store's
	// memory stays bounded whatever the rate of changes; a reader behind the
	// oldest kept event gets tagstore.ErrFeedTrimmed.
	DefaultFeedMax = 10000
)

// Option configures a Store.
type Option func(*Store)

// WithFeed sets how long the change feed keeps events and how many it
// keeps per group at most; a retention of 0 turns the feed off.
func WithFeed(retention time.Duration, maxPerGroup int) Option {
	return func(s *Store) {
		s.feed.retention = retention
		if maxPerGroup > 0 {
			s.feed.max = maxPerGroup
		}
	}
}

var _ tagstore.Feed = (*Store)(nil)

// feed is the change feed: one log per group, written under the store's
// lock by the change it records.
type feed struct {
	retention time.Duration
	max       int
	logs      map[string]*feedLog // by group key

	listeners tagstore.Listeners
}

// feedLog is one group's events, oldest first from head.
type feedLog struct {
	events  []tagstore.Event
	head    int
	trimmed tagstore.Pos // the newest event dropped for the count bound
}

// nextPos is the position of an entry appended at now (ms) after one at
// last, as a Redis stream numbers them: the time, or last's time and the
// next sequence number when the clock has not moved on.
func nextPos(last tagstore.Pos, now uint64) tagstore.Pos {
	if now > last.Ms {
		return tagstore.Pos{Ms: now}
	}
	return tagstore.Pos{Ms: last.Ms, Seq: last.Seq + 1}
}

// lastPos is the position of the last of es, zero when there is none.
func lastPos[T any](es []T, pos func(*T) tagstore.Pos) tagstore.Pos {
	if len(es) == 0 {
		return tagstore.Pos{}
	}
	return pos(&es[len(es)-1])
}

// pastCutoff moves head past the entries older than cutoff (ms).
func pastCutoff[T any](es []T, head int, pos func(*T) tagstore.Pos, cutoff uint64) int {
	for head < len(es) && pos(&es[head]).Ms < cutoff {
		head++
	}
	return head
}

// compact drops the entries before head once they are most of es, so that
// trimming a log costs a constant per append, not a copy of the log.
func compact[T any](es []T, head int) ([]T, int) {
	if head > 64 && head > len(es)/2 {
		return append([]T(nil), es[head:]...), 0
	}
	return es, head
}

func eventPos(e *tagstore.Event) tagstore.Pos        { return e.Pos }
func entryPos(e *tagstore.JournalEntry) tagstore.Pos { return e.Pos }

// cutoff is the time (ms) before which the feed keeps nothing.
func (f *feed) cutoff(now uint64) uint64 { return now - uint64(f.retention.Milliseconds()) }

func (f *feed) on() bool { return f.retention > 0 }

// record appends e to its group's log at the next position, and drops what
// the retention and the count bound no longer keep.
func (f *feed) record(e tagstore.Event) {
	key := e.Group.Key()
	l := f.logs[key]
	if l == nil {
		l = &feedLog{}
		f.logs[key] = l
	}
	now := uint64(time.Now().UnixMilli())
	e.Pos = nextPos(lastPos(l.events, eventPos), now)
	l.events = append(l.events, e)
	l.head = pastCutoff(l.events, l.head, eventPos, f.cutoff(now))
	if len(l.events)-l.head > f.max {
		l.head = len(l.events) - f.max
		l.trimmed = l.events[l.head-1].Pos
	}
	l.events, l.head = compact(l.events, l.head)
}

// signal tells the readers which groups have new events.
func (f *feed) signal(groups []string) {
	for _, g := range groups {
		f.listeners.Notify(g)
	}
}

// ReadFeed implements tagstore.Feed.
func (s *Store) ReadFeed(ctx context.Context, reads []tagstore.FeedRead, limit int) ([]tagstore.FeedResult, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.feedErr(); err != nil {
		return nil, err
	}
	out := make([]tagstore.FeedResult, len(reads))
	cutoff := s.feed.cutoff(uint64(time.Now().UnixMilli()))
	for i, r := range reads {
		l := s.feed.logs[r.Group.Key()]
		if r.After.Ms < cutoff || l != nil && r.After.Less(l.trimmed) {
			out[i].Err = tagstore.ErrFeedTrimmed
			continue
		}
		if l == nil {
			continue
		}
		evs := l.events[l.head:]
		from := sort.Search(len(evs), func(j int) bool { return r.After.Less(evs[j].Pos) })
		evs = evs[from:]
		if len(evs) > limit {
			evs, out[i].More = evs[:limit], true
		}
		out[i].Events = append([]tagstore.Event(nil), evs...)
	}
	return out, nil
}

// CheckFeed implements tagstore.Feed.
func (s *Store) CheckFeed(_ context.Context, p tagstore.Pos) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.feedErr(); err != nil {
		return err
	}
	if p.Ms < s.feed.cutoff(uint64(time.Now().UnixMilli())) {
		return tagstore.ErrFeedTrimmed
	}
	return nil
}

// FeedNow implements tagstore.Feed.
func (s *Store) FeedNow(context.Context) (tagstore.Pos, error) {
	return tagstore.Pos{Ms: uint64(time.Now().UnixMilli()) - 1, Seq: ^uint64(0)}, nil
}

// NotifyFeed implements tagstore.Feed.
func (s *Store) NotifyFeed(fn func(group string)) func() {
	id := s.feed.listeners.Add(fn)
	return func() { s.feed.listeners.Remove(id) }
}

// journalMax bounds the records of the journal.
const journalMax = 100000

var _ tagstore.Journal = (*Store)(nil)

// AppendJournal implements tagstore.Journal.
func (s *Store) AppendJournal(_ context.Context, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.feedErr(); err != nil {
		return err
	}
	j := &s.journal
	now := uint64(time.Now().UnixMilli())
	p := nextPos(lastPos(j.entries, entryPos), now)
	j.entries = append(j.entries, tagstore.JournalEntry{Pos: p, Data: append([]byte(nil), data...)})
	j.head = max(pastCutoff(j.entries, j.head, entryPos, s.feed.cutoff(now)), len(j.entries)-journalMax)
	j.entries, j.head = compact(j.entries, j.head)
	return nil
}

// ReadJournal implements tagstore.Journal.
func (s *Store) ReadJournal(_ context.Context, after, until tagstore.Pos, limit int) ([]tagstore.JournalEntry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.feedErr(); err != nil {
		return nil, err
	}
	es := s.journal.entries[s.journal.head:]
	i := sort.Search(len(es), func(i int) bool { return after.Less(es[i].Pos) })
	var out []tagstore.JournalEntry
	for ; i < len(es) && len(out) < limit && es[i].Pos.Less(until); i++ {
		out = append(out, es[i])
	}
	return out, nil
}

// journal is the memory store's tagstore.Journal: its records, oldest
// first from head.
type journal struct {
	entries []tagstore.JournalEntry
	head    int
}

// feedErr says why the feed and journal cannot be used now, if they cannot;
// s.mu is held.
func (s *Store) feedErr() error {
	if s.closed {
		return ErrClosed
	}
	if !s.feed.on() {
		return tagstore.ErrNoFeed
	}
	return nil
}
