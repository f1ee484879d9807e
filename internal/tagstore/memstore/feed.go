package memstore

import (
	"context"
	"sort"
	"sync"
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

	notifyMu sync.Mutex
	notify   map[int]func(string)
	next     int
}

// feedLog is one group's events, oldest first from head.
type feedLog struct {
	events  []tagstore.Event
	head    int
	last    tagstore.Pos
	trimmed tagstore.Pos // the newest event dropped for the count bound
}

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
	if now > l.last.Ms {
		e.Pos = tagstore.Pos{Ms: now}
	} else {
		e.Pos = tagstore.Pos{Ms: l.last.Ms, Seq: l.last.Seq + 1}
	}
	l.last = e.Pos
	l.events = append(l.events, e)
	cutoff := now - uint64(f.retention.Milliseconds())
	for l.head < len(l.events) && l.events[l.head].Pos.Ms < cutoff {
		l.head++
	}
	if len(l.events)-l.head > f.max {
		l.head = len(l.events) - f.max
		l.trimmed = l.events[l.head-1].Pos
	}
	if l.head > 64 && l.head > len(l.events)/2 {
		l.events = append([]tagstore.Event(nil), l.events[l.head:]...)
		l.head = 0
	}
}

// signal tells the readers which groups have new events.
func (f *feed) signal(groups []string) {
	f.notifyMu.Lock()
	if len(f.notify) == 0 {
		f.notifyMu.Unlock()
		return
	}
	fns := make([]func(string), 0, len(f.notify))
	for _, fn := range f.notify {
		fns = append(fns, fn)
	}
	f.notifyMu.Unlock()
	// Called without the lock, so that a listener may take locks of its
	// own that are held while it registers or leaves.
	for _, fn := range fns {
		for _, g := range groups {
			fn(g)
		}
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
	cutoff := uint64(time.Now().Add(-s.feed.retention).UnixMilli())
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
	if p.Ms < uint64(time.Now().Add(-s.feed.retention).UnixMilli()) {
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
	f := &s.feed
	f.notifyMu.Lock()
	defer f.notifyMu.Unlock()
	id := f.next
	f.next++
	f.notify[id] = fn
	return func() {
		f.notifyMu.Lock()
		defer f.notifyMu.Unlock()
		delete(f.notify, id)
	}
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
	p := tagstore.Pos{Ms: now}
	if now <= j.last.Ms {
		p = tagstore.Pos{Ms: j.last.Ms, Seq: j.last.Seq + 1}
	}
	j.last = p
	j.entries = append(j.entries, tagstore.JournalEntry{Pos: p, Data: append([]byte(nil), data...)})
	cutoff := now - uint64(s.feed.retention.Milliseconds())
	drop := 0
	for drop < len(j.entries) && (j.entries[drop].Pos.Ms < cutoff || len(j.entries)-drop > journalMax) {
		drop++
	}
	if drop > 0 {
		j.entries = append([]tagstore.JournalEntry(nil), j.entries[drop:]...)
	}
	return nil
}

// ReadJournal implements tagstore.Journal.
func (s *Store) ReadJournal(_ context.Context, after, until tagstore.Pos, limit int) ([]tagstore.JournalEntry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.feedErr(); err != nil {
		return nil, err
	}
	es := s.journal.entries
	i := sort.Search(len(es), func(i int) bool { return after.Less(es[i].Pos) })
	var out []tagstore.JournalEntry
	for ; i < len(es) && len(out) < limit && es[i].Pos.Less(until); i++ {
		out = append(out, es[i])
	}
	return out, nil
}

// journal is the memory store's tagstore.Journal.
type journal struct {
	entries []tagstore.JournalEntry
	last    tagstore.Pos
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
