package watch

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// groupFeed is the hub's copy of the recent events of one group: every
// event after from, up to to, is in events. Watchers whose position is in
// that window read from it; one refresh from the store serves them all.
type groupFeed struct {
	stale atomic.Bool // a notice or a sweep came since the last refresh
	used  atomic.Int64

	mu       sync.Mutex
	loaded   bool
	dropped  bool // no longer in the hub: its events are not counted
	from, to tagstore.Pos
	events   []*entry
}

// drop takes gf's events out of the hub's count, for good; gf.mu is
// taken, so h.mu may be held (nothing holds gf.mu and takes h.mu).
func (h *Hub) drop(gf *groupFeed) {
	gf.mu.Lock()
	defer gf.mu.Unlock()
	if !gf.dropped {
		h.cached.Add(-int64(len(gf.events)))
		gf.dropped = true
	}
}

// keep trims gf's copy to what the hub may keep, and counts the change;
// gf.mu is held.
func (h *Hub) keep(gf *groupFeed, before int) {
	limit := cacheEvents
	if h.cached.Load() > cacheBudget {
		limit = cacheFloor
	}
	// Trim in steps of a quarter, not on every refresh: trimming copies.
	if n := len(gf.events) - limit; n > 0 && (n > limit/4 || limit == cacheFloor) {
		gf.from = gf.events[n-1].Pos
		gf.events = append([]*entry(nil), gf.events[n:]...)
	}
	if !gf.dropped {
		h.cached.Add(int64(len(gf.events) - before))
	}
}

// entry is one event as the hub holds it, with what Options.Render made of
// it, made once for every watcher that delivers it.
type entry struct {
	tagstore.Event
	once     sync.Once
	rendered any
}

// entries wraps events read from the store.
func entries(evs []tagstore.Event) []*entry {
	block := make([]entry, len(evs))
	out := make([]*entry, len(evs))
	for i := range evs {
		block[i].Event = evs[i]
		out[i] = &block[i]
	}
	return out
}

// render returns Options.Render's value of e, made on first use.
func (h *Hub) render(e *entry) any {
	if h.o.Render == nil {
		return nil
	}
	e.once.Do(func() { e.rendered = h.o.Render(&e.Event) })
	return e.rendered
}

func (gf *groupFeed) lastUsed() time.Time { return time.Unix(0, gf.used.Load()) }

// read returns up to readLimit events of g after after, and whether more
// follow.
func (h *Hub) read(ctx context.Context, g arn.Group, after tagstore.Pos) ([]*entry, bool, error) {
	key := g.Key()
	h.mu.Lock()
	gf := h.groups[key]
	if gf == nil {
		gf = &groupFeed{}
		h.groups[key] = gf
	}
	h.mu.Unlock()
	gf.used.Store(time.Now().UnixNano())

	gf.mu.Lock()
	if gf.loaded && gf.to.Less(after) {
		gf.stale.Store(true) // the reader saw further: the copy is behind
	}
	if !gf.loaded || gf.stale.Load() {
		if err := h.refresh(ctx, g, gf, after); err != nil {
			gf.mu.Unlock()
			if errors.Is(err, tagstore.ErrFeedTrimmed) {
				return h.direct(ctx, g, after)
			}
			return nil, false, err
		}
	}
	if gf.loaded && !after.Less(gf.from) {
		evs := gf.events
		i := sort.Search(len(evs), func(i int) bool { return after.Less(evs[i].Pos) })
		evs = evs[i:]
		more := gf.stale.Load()
		if len(evs) > readLimit {
			evs, more = evs[:readLimit], true
		}
		// The copy only grows past this slice, or is replaced: the events
		// handed out stay as they are, and need no copy.
		out := evs[:len(evs):len(evs)]
		gf.mu.Unlock()
		return out, more, nil
	}
	gf.mu.Unlock()
	return h.direct(ctx, g, after)
}

// refresh reads the events after the copy's end (after, for a new copy);
// gf.mu is held. It leaves the copy stale when the store holds more than
// one read returned.
func (h *Hub) refresh(ctx context.Context, g arn.Group, gf *groupFeed, after tagstore.Pos) error {
	from := gf.to
	if !gf.loaded {
		from = after
	}
	gf.stale.Store(false)
	cctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	res, err := h.feed.ReadFeed(cctx, []tagstore.FeedRead{{Group: g, After: from}}, readLimit)
	cancel()
	if err == nil {
		err = res[0].Err
	}
	before := len(gf.events)
	if err != nil {
		gf.stale.Store(true)
		gf.loaded, gf.events = false, nil
		h.keep(gf, before)
		return err
	}
	if !gf.loaded {
		gf.loaded, gf.from, gf.to, gf.events = true, from, from, nil
	}
	evs := res[0].Events
	gf.events = append(gf.events, entries(evs)...)
	if len(evs) > 0 {
		gf.to = evs[len(evs)-1].Pos
	}
	h.keep(gf, before)
	if res[0].More {
		gf.stale.Store(true)
	}
	return nil
}

// direct reads from the store, for a watcher behind the hub's copy.
func (h *Hub) direct(ctx context.Context, g arn.Group, after tagstore.Pos) ([]*entry, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
	defer cancel()
	res, err := h.feed.ReadFeed(cctx, []tagstore.FeedRead{{Group: g, After: after}}, readLimit)
	if err != nil {
		return nil, false, err
	}
	return entries(res[0].Events), res[0].More, res[0].Err
}
