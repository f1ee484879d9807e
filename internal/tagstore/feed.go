package tagstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tagway/tagway/internal/arn"
)

// Feed is the change feed of a store: every applied change that changed
// something is recorded, in the same atomic step as the change, as one
// Event per resource, in a log per group ordered by Pos. A store without a
// feed (turned off) does not implement it, or answers ErrNoFeed.
type Feed interface {
	// ReadFeed reads, for each of reads, up to limit events of its group
	// after its position, in ascending order. A read whose events after its
	// position may have been trimmed (older than the retention) gets
	// ErrFeedTrimmed in its result.
	ReadFeed(ctx context.Context, reads []FeedRead, limit int) ([]FeedResult, error)
	// FeedNow returns a position of the store's clock, a little behind it:
	// every event recorded after the call returns has a greater position
	// (in every group, as long as the store's clocks agree within the
	// margin the caller allows).
	FeedNow(ctx context.Context) (Pos, error)
	// CheckFeed returns ErrFeedTrimmed when events after p may have been
	// trimmed from any group (p is older than the retention).
	CheckFeed(ctx context.Context, p Pos) error
	// NotifyFeed calls fn with a group's key, soon after a change to that
	// group was recorded, until cancel is called. Notices may be lost (a
	// connection drops); a reader must also poll. fn must not block.
	NotifyFeed(fn func(group string)) (cancel func())
}

// ErrFeedTrimmed reports a position older than the feed's retention: the
// events after it may be gone, so the reader must start over from a fresh
// listing.
var ErrFeedTrimmed = errors.New("the change feed no longer holds the events after this position")

// ErrNoFeed reports a store whose change feed is turned off.
var ErrNoFeed = errors.New("the change feed is turned off")

// FeedRead asks for the events of Group after After.
type FeedRead struct {
	Group arn.Group
	After Pos
}

// FeedResult is the answer to one FeedRead.
type FeedResult struct {
	Events []Event
	// More reports that the read stopped at its limit.
	More bool
	Err  error
}

// Pos is a position in a group's feed: the milliseconds of the store's
// clock when the event was recorded, and a sequence within them (the form
// of a Redis stream id).
type Pos struct {
	Ms, Seq uint64
}

// String returns "<ms>-<seq>".
func (p Pos) String() string {
	return strconv.FormatUint(p.Ms, 10) + "-" + strconv.FormatUint(p.Seq, 10)
}

// Less reports whether p comes before q.
func (p Pos) Less(q Pos) bool { return p.Ms < q.Ms || p.Ms == q.Ms && p.Seq < q.Seq }

// Time returns the time of p.
func (p Pos) Time() time.Time { return time.UnixMilli(int64(p.Ms)) }

// ParsePos parses the String form of a position.
func ParsePos(s string) (Pos, error) {
	a, b, ok := strings.Cut(s, "-")
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return Pos{}, fmt.Errorf("%q is not a feed position", s)
	}
	return Pos{Ms: ms, Seq: seq}, nil
}

// Event is the record of what one change did to one resource.
type Event struct {
	Group arn.Group
	Pos   Pos
	// Ident is the resource's Ident in Group; Resource its name.
	Ident string
	// Changes lists the keys the change added, changed or removed, sorted
	// by key.
	Changes []KeyChange
	// Tags are the resource's tags after the change, sorted by key.
	Tags []Tag
	Origin
}

// Resource returns the canonical name of the event's resource.
func (e Event) Resource() string { return e.Group.Name(e.Ident) }

// KeyChange is what a change did to one key: added (Had false), removed
// (Has false) or changed from Old to New.
type KeyChange struct {
	Key      string
	Old, New string
	Had, Has bool
}

// Origin says who made a change, for the feed: the surface it arrived on,
// its operation there, the principal ("" for an anonymous caller) and the
// request id its surface reported.
type Origin struct {
	Surface, Operation, Principal, RequestID string
}

type originKey struct{}

// WithOrigin returns ctx whose changes the feed records as made by o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginOf returns the origin of the changes made under ctx.
func OriginOf(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// SortChanges sorts changes by key.
func SortChanges(cs []KeyChange) {
	slices.SortFunc(cs, func(a, b KeyChange) int { return strings.Compare(a.Key, b.Key) })
}

// Wrapper is a Store that wraps another (a BoundedStore, or one that
// measures its calls), so that what the inner store also is (a Feed, a
// Journal) can be found through it.
type Wrapper interface {
	Unwrap() Store
}

// as returns s, or the first store it wraps, that is a T.
func as[T any](s Store) (T, bool) {
	for s != nil {
		if t, ok := s.(T); ok {
			return t, true
		}
		w, ok := s.(Wrapper)
		if !ok {
			break
		}
		s = w.Unwrap()
	}
	var none T
	return none, false
}

// FeedOf returns the feed of s, or of the store s wraps; false when it
// records none.
func FeedOf(s Store) (Feed, bool) { return as[Feed](s) }

// Journal is a store's time-ordered log of opaque records (the audit
// trail), kept for the feed's retention. Unlike the feed, a record is not
// written atomically with any change.
type Journal interface {
	// AppendJournal appends one record.
	AppendJournal(ctx context.Context, data []byte) error
	// ReadJournal returns up to limit records after after and before
	// until, oldest first.
	ReadJournal(ctx context.Context, after, until Pos, limit int) ([]JournalEntry, error)
}

// JournalEntry is one record of a Journal.
type JournalEntry struct {
	Pos  Pos
	Data []byte
}

// JournalOf returns the journal of s, or of the store s wraps; false when
// it keeps none.
func JournalOf(s Store) (Journal, bool) { return as[Journal](s) }

// Listeners is the set of functions a Feed tells of new events
// (NotifyFeed). Telling them takes no lock and allocates nothing: the set
// is copied when a listener comes or goes, which is rare, not when a
// notice goes out, which is every change.
type Listeners struct {
	mu      sync.Mutex
	fns     map[int]func(string)
	next    int
	current atomic.Pointer[[]func(string)]
}

// Add adds fn, and returns its id (for Remove).
func (l *Listeners) Add(fn func(group string)) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fns == nil {
		l.fns = map[int]func(string){}
	}
	id := l.next
	l.next++
	l.fns[id] = fn
	l.publish()
	return id
}

// Remove removes the listener id, and returns how many are left.
func (l *Listeners) Remove(id int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fns, id)
	l.publish()
	return len(l.fns)
}

// publish makes the listeners current; l.mu is held.
func (l *Listeners) publish() {
	fns := make([]func(string), 0, len(l.fns))
	for _, f := range l.fns {
		fns = append(fns, f)
	}
	l.current.Store(&fns)
}

// Notify tells every listener of group. A listener may be told once more
// just after it was removed.
func (l *Listeners) Notify(group string) {
	if fns := l.current.Load(); fns != nil {
		for _, f := range *fns {
			f(group)
		}
	}
}
