// Package watch follows a store's change feed for many watchers at once:
// each watcher holds its own position in every group it watches, and one
// Hub per process shares the reads of the groups they have in common, so
// that a hundred watchers cost the store about what one does. Watchers pull:
// nothing is buffered for a watcher that does not ask, and writers never
// wait on one.
package watch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// Defaults of Options.
const (
	DefaultSweep    = time.Second
	DefaultProgress = 10 * time.Second
	DefaultSkew     = time.Second
	DefaultTimeout  = time.Second
)

// Tuning of the shared reads.
const (
	// readLimit is the most events one read of one group returns.
	readLimit = 256
	// cacheEvents bounds the events the hub keeps per group.
	cacheEvents = 512
	// cacheIdle is how long an unread group stays in the hub's cache.
	cacheIdle = time.Minute
	// listBatch is how many groups one registry read returns.
	listBatch = 512
)

// Options tune a Hub.
type Options struct {
	// Sweep is how often every watched group is read whatever the
	// notices say (they may be lost), and how often a caught-up watcher's
	// position moves on in the groups without changes.
	Sweep time.Duration
	// Progress is how long a watcher goes without a message before it gets
	// a progress marker.
	Progress time.Duration
	// Skew is how far the clocks of the store's servers may disagree (and
	// the hub's estimate of them be off).
	Skew time.Duration
	// Timeout bounds each store call.
	Timeout time.Duration
	// OnError is told of store failures the watchers wait out (nil: none).
	OnError func(context.Context, error)
}

// Hub serves watchers of one store.
type Hub struct {
	store tagstore.Store
	feed  tagstore.Feed
	o     Options

	mu       sync.Mutex
	watchers map[*Watcher]struct{}
	groups   map[string]*groupFeed
	lists    map[string]*listing
	stop     func() // ends the sweeper and the notices, with the last watcher
	sweepSeq uint64
}

// New returns a hub over store, which must have a feed (tagstore.FeedOf).
func New(store tagstore.Store, o Options) (*Hub, error) {
	f, ok := tagstore.FeedOf(store)
	if !ok {
		return nil, tagstore.ErrNoFeed
	}
	if o.Sweep <= 0 {
		o.Sweep = DefaultSweep
	}
	if o.Progress <= 0 {
		o.Progress = DefaultProgress
	}
	if o.Skew <= 0 {
		o.Skew = DefaultSkew
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &Hub{store: store, feed: f, o: o, watchers: map[*Watcher]struct{}{}, groups: map[string]*groupFeed{}, lists: map[string]*listing{}}, nil
}

// Position is where a watcher is: every event at or before Base, and every
// event of a group at or before its entry in Groups, has been delivered.
type Position struct {
	Base   tagstore.Pos
	Groups map[string]tagstore.Pos
}

// Cursor returns p as strings for a page token: the base, then group and
// position pairs in key order.
func (p Position) Cursor() []string {
	keys := make([]string, 0, len(p.Groups))
	for g := range p.Groups {
		keys = append(keys, g)
	}
	slices.Sort(keys)
	out := make([]string, 0, 1+2*len(keys))
	out = append(out, p.Base.String())
	for _, g := range keys {
		out = append(out, g, p.Groups[g].String())
	}
	return out
}

// ErrBadCursor reports a cursor that no Position made.
var ErrBadCursor = errors.New("the cursor is not a watch position")

// ParseCursor is the inverse of Cursor.
func ParseCursor(c []string) (Position, error) {
	if len(c)%2 != 1 {
		return Position{}, ErrBadCursor
	}
	base, err := tagstore.ParsePos(c[0])
	if err != nil {
		return Position{}, ErrBadCursor
	}
	p := Position{Base: base, Groups: map[string]tagstore.Pos{}}
	for i := 1; i < len(c); i += 2 {
		if _, err := arn.ParseGroup(c[i]); err != nil {
			return Position{}, ErrBadCursor
		}
		q, err := tagstore.ParsePos(c[i+1])
		if err != nil || !base.Less(q) {
			return Position{}, ErrBadCursor
		}
		p.Groups[c[i]] = q
	}
	return p, nil
}

// Spec says what a watcher follows.
type Spec struct {
	// Ranges are the keys of the groups it watches, sorted and disjoint.
	Ranges []arn.KeyRange
	// Groups, if set, further selects the groups of Ranges it watches
	// (those where it may match some event), so that changes elsewhere
	// do not wake it.
	Groups func(arn.Group) bool
	// Match selects the events it delivers; the others only move its
	// position on.
	Match func(*tagstore.Event) bool
	// From is where it starts; nil starts from now.
	From *Position
}

// Item is one message for a watcher: an event, or a progress marker (Event
// nil), and the position right after it.
type Item struct {
	Event *tagstore.Event
	After Position
}

// Watcher follows the feed for one client. Its methods are not safe for
// concurrent use.
type Watcher struct {
	h    *Hub
	spec Spec
	pos  Position

	mu    sync.Mutex
	dirty map[string]bool
	sweep *tagstore.Pos // the start of a sweep not yet done
	wake  chan struct{}

	lastSent time.Time
	retry    time.Duration

	seen map[string]bool // watchesCached's answers, under the hub's mutex
}

// Watch starts a watcher; Close ends it. It fails with
// tagstore.ErrFeedTrimmed when spec.From is older than the retention.
func (h *Hub) Watch(ctx context.Context, spec Spec) (*Watcher, error) {
	w := &Watcher{h: h, spec: spec, dirty: map[string]bool{}, wake: make(chan struct{}, 1), lastSent: time.Now(), seen: map[string]bool{}}
	if spec.From != nil {
		ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
		err := h.feed.CheckFeed(ctx, spec.From.Base)
		cancel()
		if err != nil {
			return nil, err
		}
		w.pos = Position{Base: spec.From.Base, Groups: cloneGroups(spec.From.Groups)}
	} else {
		ctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
		now, err := h.feed.FeedNow(ctx)
		cancel()
		if err != nil {
			return nil, err
		}
		w.pos = Position{Base: now, Groups: map[string]tagstore.Pos{}}
	}
	start := w.pos.Base
	w.sweep = &start // the first Next reads every group
	h.mu.Lock()
	h.watchers[w] = struct{}{}
	if h.stop == nil {
		h.start()
	}
	h.mu.Unlock()
	return w, nil
}

func cloneGroups(m map[string]tagstore.Pos) map[string]tagstore.Pos {
	out := make(map[string]tagstore.Pos, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Close ends w.
func (w *Watcher) Close() {
	h := w.h
	h.mu.Lock()
	delete(h.watchers, w)
	var stop func()
	if len(h.watchers) == 0 && h.stop != nil {
		stop, h.stop = h.stop, nil
		clear(h.groups)
		clear(h.lists)
	}
	h.mu.Unlock()
	// Outside the lock: ending the notices waits for one being delivered,
	// which takes the lock.
	if stop != nil {
		stop()
	}
}

// start begins the notices and the sweeper; h.mu is held.
func (h *Hub) start() {
	ctx, cancel := context.WithCancel(context.Background())
	unsubscribe := h.feed.NotifyFeed(h.notice)
	go func() {
		t := time.NewTicker(h.o.Sweep)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				h.sweepAll(ctx)
			}
		}
	}()
	h.stop = func() {
		unsubscribe()
		cancel()
	}
}

// notice marks a group changed, for the cache and every watcher of it.
func (h *Hub) notice(group string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if gf := h.groups[group]; gf != nil {
		gf.stale.Store(true)
	}
	for w := range h.watchers {
		if w.watchesCached(group) {
			w.mark(group, nil)
		}
	}
}

// sweepAll marks every group stale and every watcher due for a sweep from
// the store's time now, and drops idle groups from the cache.
func (h *Hub) sweepAll(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	now, err := h.feed.FeedNow(cctx)
	cancel()
	if err != nil {
		h.failed(ctx, err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweepSeq++
	idle := time.Now().Add(-cacheIdle)
	for k, gf := range h.groups {
		gf.stale.Store(true)
		if gf.lastUsed().Before(idle) {
			delete(h.groups, k)
		}
	}
	for k, l := range h.lists {
		if l.seq.Load()+2 < h.sweepSeq {
			delete(h.lists, k)
		}
	}
	for w := range h.watchers {
		w.mark("", &now)
	}
}

func (h *Hub) failed(ctx context.Context, err error) {
	if h.o.OnError != nil {
		h.o.OnError(ctx, err)
	}
}

// watchesCached is watches for a group key, remembering the answer; the
// hub's mutex is held.
func (w *Watcher) watchesCached(key string) bool {
	if ok, found := w.seen[key]; found {
		return ok
	}
	g, err := arn.ParseGroup(key)
	ok := err == nil && w.watches(key, g)
	if len(w.seen) >= seenMax {
		clear(w.seen)
	}
	w.seen[key] = ok
	return ok
}

// seenMax bounds the groups a watcher remembers the answer of watches for.
const seenMax = 4096

// watches reports whether w watches the group g, whose key is key.
func (w *Watcher) watches(key string, g arn.Group) bool {
	return inRanges(w.spec.Ranges, key) && (w.spec.Groups == nil || w.spec.Groups(g))
}

func inRanges(rs []arn.KeyRange, key string) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].High > key })
	return i < len(rs) && rs[i].Low <= key
}

// mark records a changed group, or a sweep, and wakes w.
func (w *Watcher) mark(group string, sweep *tagstore.Pos) {
	w.mu.Lock()
	if group != "" {
		w.dirty[group] = true
	}
	if sweep != nil && w.sweep == nil {
		w.sweep = sweep
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Position returns where w is.
func (w *Watcher) Position() Position { return w.pos }

// Next returns the next items: events that match, each with the position
// right after it, or a progress marker when w has sent nothing for
// Options.Progress. It waits until there is one or ctx ends. Store failures
// are waited out (w keeps its position); it fails with
// tagstore.ErrFeedTrimmed when its position is older than the feed's
// retention.
func (w *Watcher) Next(ctx context.Context) ([]Item, error) {
	h := w.h
	for {
		w.mu.Lock()
		dirty := w.dirty
		w.dirty = map[string]bool{}
		sweep := w.sweep
		w.sweep = nil
		w.mu.Unlock()

		items, err := w.step(ctx, dirty, sweep)
		if errors.Is(err, tagstore.ErrFeedTrimmed) {
			return nil, err
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// Try the same again after a pause.
			h.failed(ctx, err)
			w.mu.Lock()
			for g := range dirty {
				w.dirty[g] = true
			}
			if w.sweep == nil {
				w.sweep = sweep
			}
			w.mu.Unlock()
			w.retry = min(max(2*w.retry, 100*time.Millisecond), 2*time.Second)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(w.retry):
			}
			continue
		}
		w.retry = 0
		if len(items) > 0 {
			w.lastSent = time.Now()
			return items, nil
		}
		wait := h.o.Progress - time.Since(w.lastSent)
		if wait <= 0 {
			w.lastSent = time.Now()
			return []Item{{After: w.snapshot()}}, nil
		}
		w.mu.Lock()
		pending := len(w.dirty) > 0 || w.sweep != nil
		w.mu.Unlock()
		if pending {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// step reads the dirty groups (every group of w's ranges on a sweep) and
// returns the matching events. A sweep whose reads all reached the end of
// their groups moves the base on to the sweep's start, less the skew.
func (w *Watcher) step(ctx context.Context, dirty map[string]bool, sweep *tagstore.Pos) ([]Item, error) {
	h := w.h
	if sweep != nil {
		groups, err := h.list(ctx, w.spec.Ranges)
		if err != nil {
			return nil, err
		}
		for _, key := range groups {
			if g, err := arn.ParseGroup(key); err == nil && (w.spec.Groups == nil || w.spec.Groups(g)) {
				dirty[key] = true
			}
		}
	}
	keys := make([]string, 0, len(dirty))
	for g := range dirty {
		keys = append(keys, g)
	}
	slices.Sort(keys)
	var items []Item
	more := false
	for _, key := range keys {
		g, err := arn.ParseGroup(key)
		if err != nil {
			continue
		}
		after := w.posOf(key)
		evs, m, err := h.read(ctx, g, after)
		if err != nil {
			// Keep what was read; the rest is read again.
			w.mu.Lock()
			for _, k := range keys {
				if k >= key {
					w.dirty[k] = true
				}
			}
			if w.sweep == nil {
				w.sweep = sweep
			}
			w.mu.Unlock()
			if len(items) > 0 && !errors.Is(err, tagstore.ErrFeedTrimmed) {
				return items, nil
			}
			return items, err
		}
		for i := range evs {
			e := &evs[i]
			w.pos.Groups[key] = e.Pos
			if w.spec.Match == nil || w.spec.Match(e) {
				items = append(items, Item{Event: e, After: w.snapshot()})
			}
		}
		if m {
			more = true
			w.mark(key, nil)
		}
	}
	if sweep != nil {
		if more {
			w.mu.Lock()
			if w.sweep == nil {
				w.sweep = sweep
			}
			w.mu.Unlock()
		} else {
			w.advance(*sweep)
		}
	}
	return items, nil
}

// advance moves the base on to the start of a completed sweep, less the
// skew, and forgets the group positions it covers.
func (w *Watcher) advance(sweep tagstore.Pos) {
	skew := uint64(w.h.o.Skew.Milliseconds())
	if sweep.Ms <= skew {
		return
	}
	base := tagstore.Pos{Ms: sweep.Ms - skew, Seq: ^uint64(0)}
	if !w.pos.Base.Less(base) {
		return
	}
	w.pos.Base = base
	for g, p := range w.pos.Groups {
		if !base.Less(p) {
			delete(w.pos.Groups, g)
		}
	}
}

func (w *Watcher) posOf(group string) tagstore.Pos {
	if p, ok := w.pos.Groups[group]; ok {
		return p
	}
	return w.pos.Base
}

func (w *Watcher) snapshot() Position {
	return Position{Base: w.pos.Base, Groups: cloneGroups(w.pos.Groups)}
}

// listing is the groups of some ranges, as of one sweep.
type listing struct {
	seq atomic.Uint64 // the sweep it was read in; also read under the hub's mutex

	mu     sync.Mutex
	groups []string
}

// list returns the groups in ranges, read once per sweep for every watcher
// of the same ranges.
func (h *Hub) list(ctx context.Context, ranges []arn.KeyRange) ([]string, error) {
	var b strings.Builder
	for _, r := range ranges {
		fmt.Fprintf(&b, "%q%q", r.Low, r.High)
	}
	h.mu.Lock()
	seq := h.sweepSeq
	l := h.lists[b.String()]
	if l == nil {
		l = &listing{}
		l.seq.Store(^uint64(0))
		h.lists[b.String()] = l
	}
	h.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seq.Load() == seq {
		return l.groups, nil
	}
	var out []string
	for _, r := range ranges {
		for {
			cctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
			gs, err := h.store.Groups(cctx, r, listBatch)
			cancel()
			if err != nil {
				return nil, err
			}
			for _, g := range gs {
				out = append(out, g.Key())
			}
			if len(gs) < listBatch {
				break
			}
			r.Low = tagstore.Successor(gs[len(gs)-1].Key())
		}
	}
	l.groups = out
	l.seq.Store(seq)
	return out, nil
}
