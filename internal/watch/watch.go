// Package watch follows a store's change feed for many watchers at once:
// each watcher holds its own position in every group it watches, and one
// Hub per process shares the reads of the groups they have in common, so
// that a hundred watchers cost the store about what one does. Watchers pull:
// nothing is buffered for a watcher that does not ask, and writers never
// wait on one.
package watch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
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
	DefaultCoalesce = 5 * time.Millisecond
)

// Tuning of the shared reads.
const (
	// readLimit is the most events one read of one group returns.
	readLimit = 256
	// cacheEvents bounds the events the hub keeps per group: a watcher
	// that falls further behind reads the store alone, which under load
	// makes it fall further still.
	cacheEvents = 4096
	// cacheBudget bounds the events the hub keeps in all (about 1-2 KB
	// each, with their message); past it, a group keeps cacheFloor.
	cacheBudget = 32768
	cacheFloor  = 512
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
	// Coalesce is the least time between two reads of one watcher: a
	// watcher woken by a change waits that long after its last read, so
	// that under a stream of changes it reads, and sends, them in batches.
	// It is what a change may be delayed by. Zero is DefaultCoalesce;
	// negative, no wait.
	Coalesce time.Duration
	// Render, if set, makes what watchers send of an event (a message,
	// say). It is called once per event for every watcher that delivers
	// it, so what it returns must not be changed.
	Render func(*tagstore.Event) any
}

// Hub serves watchers of one store.
type Hub struct {
	store tagstore.Store
	feed  tagstore.Feed
	o     Options

	mu       sync.Mutex
	watchers map[*Watcher]struct{}
	byGroup  map[string][]*Watcher // the watchers of a group, found on first notice
	groups   map[string]*groupFeed
	lists    map[string]*listing
	stop     func() // ends the sweeper and the notices, with the last watcher
	sweepSeq uint64

	// Notices wait here for the hub's fan-out, so that a writer that
	// notifies (the memory store does, as it commits) pays for a map
	// insert, not for finding the watchers.
	cached atomic.Int64 // events in all groups' copies

	noticeMu sync.Mutex
	noticed  map[string]struct{}
	kick     chan struct{}
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
	if o.Coalesce == 0 {
		o.Coalesce = DefaultCoalesce
	}
	return &Hub{store: store, feed: f, o: o, watchers: map[*Watcher]struct{}{}, byGroup: map[string][]*Watcher{},
		groups: map[string]*groupFeed{}, lists: map[string]*listing{}, noticed: map[string]struct{}{}, kick: make(chan struct{}, 1)}, nil
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

// GroupPos is a watcher's place in one group.
type GroupPos struct {
	Group string
	Pos   tagstore.Pos
}

// Advance moves p on to each of moves that lies past p's place in its
// group; the others change nothing. Advancing can only skip events, never
// deliver one again, which is why moves need no signature where p has one.
func (p *Position) Advance(moves []GroupPos) {
	for _, m := range moves {
		if !p.Base.Less(m.Pos) {
			continue
		}
		if q, ok := p.Groups[m.Group]; ok && !q.Less(m.Pos) {
			continue
		}
		if p.Groups == nil {
			p.Groups = map[string]tagstore.Pos{}
		}
		p.Groups[m.Group] = m.Pos
	}
}

// Mark is a position written as a checkpoint that a watcher's items share
// and the moves of the groups that changed since it: cheap to take for
// every item, and to put in a token (sign the checkpoint once).
type Mark struct {
	// Checkpoint and Moved are not changed once a Mark holds them.
	Checkpoint *Position
	Moved      []GroupPos
}

// Position returns the position m stands for.
func (m Mark) Position() Position {
	p := Position{Base: m.Checkpoint.Base, Groups: cloneGroups(m.Checkpoint.Groups)}
	p.Advance(m.Moved)
	return p
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
	// Rendered is Options.Render's value of Event, shared by every watcher
	// that delivers it.
	Rendered any
	Mark     Mark
}

// After returns the position right after it.
func (it Item) After() Position { return it.Mark.Position() }

// Watcher follows the feed for one client. Its methods are not safe for
// concurrent use.
type Watcher struct {
	h    *Hub
	spec Spec
	pos  Position
	// checkpoint is pos as it was when the groups in moved last agreed
	// with it; items share it (see Mark).
	checkpoint *Position
	moved      []GroupPos

	mu    sync.Mutex
	dirty map[string]bool
	sweep *tagstore.Pos // the start of a sweep not yet done
	wake  chan struct{}

	items    []Item // Next's result, reused by the next call
	lastSent time.Time
	lastRead time.Time
	retry    time.Duration
	timer    *time.Timer
}

// maxMoved is how many groups may move on from a watcher's checkpoint
// before it takes a new one.
const maxMoved = 4

// Watch starts a watcher; Close ends it. It fails with
// tagstore.ErrFeedTrimmed when spec.From is older than the retention.
func (h *Hub) Watch(ctx context.Context, spec Spec) (*Watcher, error) {
	w := &Watcher{h: h, spec: spec, dirty: map[string]bool{}, wake: make(chan struct{}, 1), lastSent: time.Now()}
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
	w.takeCheckpoint()
	start := w.pos.Base
	w.sweep = &start // the first Next reads every group
	h.mu.Lock()
	h.watchers[w] = struct{}{}
	clear(h.byGroup)
	if h.stop == nil {
		h.start()
	}
	h.mu.Unlock()
	return w, nil
}

// cloneGroups is maps.Clone, never nil: a watcher's map is written to.
func cloneGroups(m map[string]tagstore.Pos) map[string]tagstore.Pos {
	if m == nil {
		return map[string]tagstore.Pos{}
	}
	return maps.Clone(m)
}

// Close ends w.
func (w *Watcher) Close() {
	h := w.h
	h.mu.Lock()
	delete(h.watchers, w)
	clear(h.byGroup)
	var stop func()
	if len(h.watchers) == 0 && h.stop != nil {
		stop, h.stop = h.stop, nil
		for _, gf := range h.groups {
			h.drop(gf)
		}
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
	go h.fanOut(ctx)
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

// notice records that a group changed, for the fan-out.
func (h *Hub) notice(group string) {
	h.noticeMu.Lock()
	h.noticed[group] = struct{}{}
	h.noticeMu.Unlock()
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// fanOut marks the groups noticed changed, for the cache and every watcher
// of them, until ctx ends.
func (h *Hub) fanOut(ctx context.Context) {
	next := map[string]struct{}{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.kick:
		}
		h.noticeMu.Lock()
		groups := h.noticed
		h.noticed = next
		h.noticeMu.Unlock()
		h.mu.Lock()
		for group := range groups {
			if gf := h.groups[group]; gf != nil {
				gf.stale.Store(true)
			}
			for _, w := range h.watchersOf(group) {
				w.mark(group, nil)
			}
		}
		h.mu.Unlock()
		clear(groups)
		next = groups
	}
}

// watchersOf returns the watchers of a group, remembered until the
// watchers change; h.mu is held.
func (h *Hub) watchersOf(key string) []*Watcher {
	if ws, ok := h.byGroup[key]; ok {
		return ws
	}
	var ws []*Watcher
	if g, err := arn.ParseGroup(key); err == nil {
		for w := range h.watchers {
			if w.watches(key, g) {
				ws = append(ws, w)
			}
		}
	}
	if len(h.byGroup) >= byGroupMax {
		clear(h.byGroup)
	}
	h.byGroup[key] = ws
	return ws
}

// byGroupMax bounds the groups the hub remembers the watchers of.
const byGroupMax = 4096

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
			h.drop(gf)
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

// Mark returns where w is, as a Mark.
func (w *Watcher) Mark() Mark {
	var arena []GroupPos
	return w.markIn(&arena)
}

// markIn is Mark, with the moves copied to the end of *arena: the marks of
// one read share an array.
func (w *Watcher) markIn(arena *[]GroupPos) Mark {
	if len(w.moved) == 0 {
		return Mark{Checkpoint: w.checkpoint}
	}
	a := append(*arena, w.moved...)
	*arena = a
	return Mark{Checkpoint: w.checkpoint, Moved: a[len(a)-len(w.moved) : len(a) : len(a)]}
}

// takeCheckpoint makes w's position its checkpoint.
func (w *Watcher) takeCheckpoint() {
	p := w.snapshot()
	w.checkpoint = &p
	w.moved = w.moved[:0]
}

// move sets w's place in a group.
func (w *Watcher) move(group string, p tagstore.Pos) {
	w.pos.Groups[group] = p
	for i := range w.moved {
		if w.moved[i].Group == group {
			w.moved[i].Pos = p
			return
		}
	}
	if len(w.moved) == maxMoved {
		w.takeCheckpoint()
		return
	}
	w.moved = append(w.moved, GroupPos{Group: group, Pos: p})
}

// Next returns the next items: events that match, each with the position
// right after it, or a progress marker when w has sent nothing for
// Options.Progress. The slice is reused by the next call (the items in it
// may be kept). It waits until there is one or ctx ends. Store failures
// are waited out (w keeps its position); it fails with
// tagstore.ErrFeedTrimmed when its position is older than the feed's
// retention.
func (w *Watcher) Next(ctx context.Context) ([]Item, error) {
	h := w.h
	for {
		// Reads of one watcher are at least Coalesce apart, so that under
		// a stream of changes each read (and each message's fixed costs)
		// serves many events.
		if wait := h.o.Coalesce - time.Since(w.lastRead); wait > 0 {
			if err := w.sleep(ctx, wait, nil); err != nil {
				return nil, err
			}
		}
		w.lastRead = time.Now()
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
			// Try again after a pause (step kept what is left to read).
			h.failed(ctx, err)
			w.retry = min(max(2*w.retry, 100*time.Millisecond), 2*time.Second)
			if err := w.sleep(ctx, w.retry, nil); err != nil {
				return nil, err
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
			if len(w.moved) > 0 {
				w.takeCheckpoint()
			}
			return []Item{{Mark: w.Mark()}}, nil
		}
		w.mu.Lock()
		pending := len(w.dirty) > 0 || w.sweep != nil
		w.mu.Unlock()
		if pending {
			continue
		}
		if err := w.sleep(ctx, wait, w.wake); err != nil {
			return nil, err
		}
	}
}

// sleep waits for d, or until wake has a message, or ctx ends (its error).
func (w *Watcher) sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	defer w.timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-w.timer.C:
	}
	return nil
}

// step reads the dirty groups (every group of w's ranges on a sweep) and
// returns the matching events. A sweep whose reads all reached the end of
// their groups moves the base on to the sweep's start, less the skew.
func (w *Watcher) step(ctx context.Context, dirty map[string]bool, sweep *tagstore.Pos) ([]Item, error) {
	h := w.h
	if sweep != nil {
		groups, err := h.list(ctx, w.spec.Ranges)
		if err != nil {
			w.again(sweep, slices.Collect(maps.Keys(dirty)))
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
	items := w.items[:0]
	defer func() { w.items = items[:0] }()
	var arena []GroupPos // the moves of items' marks
	more := false
	for i, key := range keys {
		g, err := arn.ParseGroup(key)
		if err != nil {
			continue
		}
		after := w.posOf(key)
		evs, m, err := h.read(ctx, g, after)
		if err != nil {
			// Keep what was read; the rest is read again.
			w.again(sweep, keys[i:])
			if len(items) > 0 && !errors.Is(err, tagstore.ErrFeedTrimmed) {
				return items, nil
			}
			return items, err
		}
		items = slices.Grow(items, len(evs))
		arena = slices.Grow(arena, len(evs)*(len(w.moved)+1))
		for _, e := range evs {
			w.move(key, e.Pos)
			if w.spec.Match == nil || w.spec.Match(&e.Event) {
				items = append(items, Item{Event: &e.Event, Rendered: h.render(e), Mark: w.markIn(&arena)})
			}
		}
		if m {
			more = true
			w.mark(key, nil)
		}
	}
	if more {
		w.again(sweep, nil)
	} else if sweep != nil {
		w.advance(*sweep)
	}
	return items, nil
}

// again keeps groups and an unfinished sweep (if any) for the next step,
// without waking w.
func (w *Watcher) again(sweep *tagstore.Pos, groups []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range groups {
		w.dirty[g] = true
	}
	if w.sweep == nil {
		w.sweep = sweep
	}
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
	w.takeCheckpoint()
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

// maxMoves bounds the moves ParseMoves accepts.
const maxMoves = 64

// AppendMoves appends moves to b in the form ParseMoves reads: for each,
// the group's length and key, then the position's two numbers, as
// varints.
func AppendMoves(b []byte, moves []GroupPos) []byte {
	for _, m := range moves {
		b = binary.AppendUvarint(b, uint64(len(m.Group)))
		b = append(b, m.Group...)
		b = binary.AppendUvarint(b, m.Pos.Ms)
		b = binary.AppendUvarint(b, m.Pos.Seq)
	}
	return b
}

// ParseMoves is the inverse of AppendMoves. It fails with ErrBadCursor on
// anything AppendMoves does not make, or more than 64 moves.
func ParseMoves(b []byte) ([]GroupPos, error) {
	var out []GroupPos
	for len(b) > 0 {
		if len(out) == maxMoves {
			return nil, ErrBadCursor
		}
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, ErrBadCursor
		}
		group := string(b[k : k+int(n)])
		b = b[k+int(n):]
		if _, err := arn.ParseGroup(group); err != nil {
			return nil, ErrBadCursor
		}
		ms, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, ErrBadCursor
		}
		b = b[k:]
		seq, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, ErrBadCursor
		}
		b = b[k:]
		out = append(out, GroupPos{Group: group, Pos: tagstore.Pos{Ms: ms, Seq: seq}})
	}
	return out, nil
}
