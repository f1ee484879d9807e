package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/watch"
)

// FeedHarness gives the feed suite its stores.
type FeedHarness struct {
	// New returns an empty store whose feed keeps events for retention;
	// RunFeed closes it.
	New func(t *testing.T, retention time.Duration) tagstore.Store
	// Another returns a second store on the same data as s, as another
	// tagway replica would open; nil when the backend has none.
	Another func(t *testing.T, s tagstore.Store) tagstore.Store
	// Restart restarts the server behind the last store New returned,
	// keeping its data; nil when the backend has none.
	Restart func(t *testing.T)
}

// FeedRetention is the retention of the stores the feed suite asks for,
// but for the retention test.
const FeedRetention = time.Hour

// RunFeed runs the change feed suite.
func RunFeed(t *testing.T, h FeedHarness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h FeedHarness, s tagstore.Store)
	}{
		{"Exact", testFeedExact},
		{"Origin", testFeedOrigin},
		{"Resume", testFeedResume},
		{"AnotherReplica", testFeedAnotherReplica},
		{"SlowWatcher", testFeedSlowWatcher},
		{"Restart", testFeedRestart},
		{"Notices", testFeedNotices},
		{"Retention", testFeedRetention},
		{"Journal", testJournal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			retention := FeedRetention
			if tc.name == "Retention" {
				retention = time.Second
			}
			s := h.New(t, retention)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, h, s)
		})
	}
}

// feedOf returns the feed of s and its clock now.
func feedOf(t *testing.T, s tagstore.Store) (tagstore.Feed, tagstore.Pos) {
	t.Helper()
	f, ok := tagstore.FeedOf(s)
	if !ok {
		t.Fatal("the store has no feed")
	}
	now, err := f.FeedNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f, now
}

// readAll reads every event of g after from.
func readAll(t *testing.T, f tagstore.Feed, g arn.Group, from tagstore.Pos) []tagstore.Event {
	t.Helper()
	var out []tagstore.Event
	for {
		res, err := f.ReadFeed(context.Background(), []tagstore.FeedRead{{Group: g, After: from}}, 3)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		out = append(out, res[0].Events...)
		if !res[0].More {
			return out
		}
		from = res[0].Events[len(res[0].Events)-1].Pos
	}
}

// describe renders an event as "<resource> <changes> => <tags>".
func describe(e tagstore.Event) string {
	s := e.Resource()
	for _, c := range e.Changes {
		switch {
		case !c.Had:
			s += fmt.Sprintf(" +%s=%s", c.Key, c.New)
		case !c.Has:
			s += fmt.Sprintf(" -%s=%s", c.Key, c.Old)
		default:
			s += fmt.Sprintf(" ~%s=%s>%s", c.Key, c.Old, c.New)
		}
	}
	s += " =>"
	for _, tg := range e.Tags {
		s += " " + tg.Key + "=" + tg.Value
	}
	return s
}

func describeAll(evs []tagstore.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, describe(e))
	}
	return out
}

// testFeedExact: one event per applied change that changed something, in
// the order of the changes; none for changes that changed nothing or were
// refused.
func testFeedExact(t *testing.T, _ FeedHarness, s tagstore.Store) {
	f, start := feedOf(t, s)
	limited := set(t, i1, "x1", "1", "x2", "2", "x3", "3")
	limited.MaxTags = 2
	cond := remove(t, i1, "env")
	cond.Expect = map[string]string{"env": "dev"}
	// A change that removes a key and sets it again: the same value is no
	// change, another is one change of the value.
	again := set(t, i1, "env", "dev")
	again.Remove = []string{"env"}
	swap := set(t, i1, "env", "qa")
	swap.Remove = []string{"env", "absent"}
	steps := []tagstore.Change{
		set(t, i1, "env", "prod", "team", "a"), // added
		set(t, i1, "env", "prod"),              // no-op: same value
		remove(t, i1, "absent"),                // no-op: absent key
		remove(t, i2, "env"),                   // no-op: unknown resource
		cond,                                   // no-op: the value differs
		set(t, i1, "env", "dev"),               // changed
		again,                                  // no-op: removed and set to the same value
		swap,                                   // changed: removed and set to another value
		remove(t, i1, "team", "absent"),        // removed
	}
	for _, c := range steps {
		apply(t, s, c)
	}
	if err := s.Apply(context.Background(), []tagstore.Change{limited})[0]; !errors.Is(err, tagstore.ErrTagLimitExceeded) {
		t.Fatalf("limited change: %v", err)
	}
	// Two resources in one call: one event each, in order.
	apply(t, s, set(t, i2, "a", "1"), set(t, i3, "a", "1"))
	evs := readAll(t, f, grp(t, i1), start)
	got := describeAll(evs)
	want := []string{
		i1 + " +env=prod +team=a => env=prod team=a",
		i1 + " ~env=prod>dev => env=dev team=a",
		i1 + " ~env=dev>qa => env=qa team=a",
		i1 + " -team=a => env=qa",
		i2 + " +a=1 => a=1",
		i3 + " +a=1 => a=1",
	}
	equal(t, "events", got, want)
	for i := 1; i < len(evs); i++ {
		if !evs[i-1].Pos.Less(evs[i].Pos) {
			t.Fatalf("positions not increasing: %v then %v", evs[i-1].Pos, evs[i].Pos)
		}
	}
	if d := time.Since(evs[0].Pos.Time()); d < -time.Minute || d > time.Minute {
		t.Fatalf("event time %v is not now", evs[0].Pos.Time())
	}
	// Reading from the last event returns nothing more.
	if rest := readAll(t, f, grp(t, i1), evs[len(evs)-1].Pos); len(rest) != 0 {
		t.Fatalf("after the last event: %v", describeAll(rest))
	}
	// A placed name's event is in the group of its owner.
	apply(t, s, owned(set(t, b1, "k", "v"), ownerA))
	placed := readAll(t, f, name(t, b1).Group(ownerA, ""), start)
	equal(t, "placed", describeAll(placed), []string{b1 + " +k=v => k=v"})
}

// testFeedOrigin: the origin in the change's context is recorded.
func testFeedOrigin(t *testing.T, _ FeedHarness, s tagstore.Store) {
	f, start := feedOf(t, s)
	o := tagstore.Origin{Surface: "aws", Operation: "TagResources", Principal: "team-a", RequestID: "req-1"}
	ctx := tagstore.WithOrigin(context.Background(), o)
	if err := s.Apply(ctx, []tagstore.Change{set(t, i1, "k", "v")})[0]; err != nil {
		t.Fatal(err)
	}
	apply(t, s, set(t, i1, "k", "w"))
	evs := readAll(t, f, grp(t, i1), start)
	if len(evs) != 2 || evs[0].Origin != o || evs[1].Origin != (tagstore.Origin{}) {
		t.Fatalf("origins: %+v", evs)
	}
}

// hubFor returns a hub on s that sweeps often.
func hubFor(t *testing.T, s tagstore.Store) *watch.Hub {
	t.Helper()
	h, err := watch.New(s, watch.Options{Sweep: 50 * time.Millisecond, Progress: 200 * time.Millisecond, Skew: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// collect reads from w until it has n events, and returns them with the
// position after each.
func collect(t *testing.T, w *watch.Watcher, n int) []watch.Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []watch.Item
	for len(out) < n {
		items, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
		for _, it := range items {
			if it.Event != nil {
				out = append(out, it)
			}
		}
	}
	if len(out) > n {
		t.Fatalf("got %d events, want %d: %v", len(out), n, itemsOf(out))
	}
	return out
}

func itemsOf(items []watch.Item) []string {
	var out []string
	for _, it := range items {
		if it.Event != nil {
			out = append(out, describe(*it.Event))
		}
	}
	return out
}

func all() []arn.KeyRange { return []arn.KeyRange{arn.AllGroups} }

// sequence tags resources of two groups with seq=from..to, in turn.
func sequence(t *testing.T, s tagstore.Store, from, to int) {
	for i := from; i <= to; i++ {
		r := i1
		if i%2 == 1 {
			r = "arn:aws:ec2:eu-west-1:111111111111:instance/i-9"
		}
		apply(t, s, set(t, r, "seq", fmt.Sprint(i)))
	}
}

// seqOf returns the seq tag of an item's resource after its event.
func seqOf(it watch.Item) int {
	seq := -1
	for _, tg := range it.Event.Tags {
		if tg.Key == "seq" {
			fmt.Sscan(tg.Value, &seq)
		}
	}
	return seq
}

// checkSeqs checks that items carry exactly the seq values want, each
// once, increasing per resource: the feed orders the changes of a group,
// not those of different groups.
func checkSeqs(t *testing.T, items []watch.Item, want map[int]bool) {
	t.Helper()
	seen := map[int]bool{}
	last := map[string]int{}
	for _, it := range items {
		seq, r := seqOf(it), it.Event.Resource()
		if seen[seq] || !want[seq] || seq <= last[r] {
			t.Fatalf("seq %d out of place (want %v): %v", seq, want, itemsOf(items))
		}
		seen[seq], last[r] = true, seq
	}
	if len(seen) != len(want) {
		t.Fatalf("got seqs %v, want %v", seen, want)
	}
}

// checkSequence checks that items carry seq=from..from+len(items)-1 (see
// checkSeqs).
func checkSequence(t *testing.T, items []watch.Item, from int) {
	t.Helper()
	want := map[int]bool{}
	for i := range items {
		want[from+i] = true
	}
	checkSeqs(t, items, want)
}

// testFeedResume: a watcher resumed from the position after any event
// goes on right after it, across groups, with no gap and no repeat; its
// filter leaves other events out.
func testFeedResume(t *testing.T, _ FeedHarness, s tagstore.Store) {
	h := hubFor(t, s)
	w, err := h.Watch(context.Background(), watch.Spec{Ranges: all()})
	if err != nil {
		t.Fatal(err)
	}
	sequence(t, s, 1, 10)
	items := collect(t, w, 10)
	w.Close()
	checkSequence(t, items, 1)
	sequence(t, s, 11, 14)
	for _, at := range []int{0, 3, 6, 9} {
		cut := items[at].After()
		want := map[int]bool{11: true, 12: true, 13: true, 14: true}
		for _, it := range items[at+1:] {
			want[seqOf(it)] = true
		}
		w2, err := h.Watch(context.Background(), watch.Spec{Ranges: all(), From: &cut})
		if err != nil {
			t.Fatal(err)
		}
		checkSeqs(t, collect(t, w2, len(want)), want)
		w2.Close()
		// A filtered watcher, or one whose ranges leave a group out,
		// skips what it does not watch, and stays exact.
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			inRegion := map[int]bool{}
			for seq := range want {
				if (seq%2 == 0) == (region == "us-east-1") {
					inRegion[seq] = true
				}
			}
			only := func(e *tagstore.Event) bool { return e.Group.Region == region }
			w3, err := h.Watch(context.Background(), watch.Spec{Ranges: all(), From: &cut, Match: only})
			if err != nil {
				t.Fatal(err)
			}
			checkSeqs(t, collect(t, w3, len(inRegion)), inRegion)
			w3.Close()
			w4, err := h.Watch(context.Background(), watch.Spec{Ranges: []arn.KeyRange{arn.PrefixRange("aws:" + region + ":")}, From: &cut})
			if err != nil {
				t.Fatal(err)
			}
			checkSeqs(t, collect(t, w4, len(inRegion)), inRegion)
			w4.Close()
		}
	}
}

// testFeedAnotherReplica: a watcher sees the changes made through another
// store on the same data.
func testFeedAnotherReplica(t *testing.T, h FeedHarness, s tagstore.Store) {
	other := s
	if h.Another != nil {
		other = h.Another(t, s)
		defer other.Close()
	}
	hub := hubFor(t, s)
	w, err := hub.Watch(context.Background(), watch.Spec{Ranges: all()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sequence(t, other, 1, 6)
	checkSequence(t, collect(t, w, 6), 1)
}

// testFeedSlowWatcher: a watcher that reads nothing holds up no writer, and
// when it reads, it gets every event, in order, though its hub's copy has
// moved far past it.
func testFeedSlowWatcher(t *testing.T, _ FeedHarness, s tagstore.Store) {
	hub := hubFor(t, s)
	slow, err := hub.Watch(context.Background(), watch.Spec{Ranges: all()})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast, err := hub.Watch(context.Background(), watch.Spec{Ranges: all()})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	const n = 1200
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= n; i++ {
			if err := s.Apply(context.Background(), []tagstore.Change{set(t, i1, "seq", fmt.Sprint(i))})[0]; err != nil {
				t.Error(err)
				return
			}
		}
	}()
	checkSequence(t, collect(t, fast, n), 1)
	<-done
	checkSequence(t, collect(t, slow, n), 1)
}

// testFeedRestart: a watcher waits out a restart of the server and goes
// on with no gap and no repeat.
func testFeedRestart(t *testing.T, h FeedHarness, s tagstore.Store) {
	if h.Restart == nil {
		t.Skip("the backend has no server to restart")
	}
	hub := hubFor(t, s)
	w, err := hub.Watch(context.Background(), watch.Spec{Ranges: all()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sequence(t, s, 1, 3)
	checkSequence(t, collect(t, w, 3), 1)
	h.Restart(t)
	var retried []tagstore.Change
	deadline := time.Now().Add(10 * time.Second)
	for i := 4; i <= 6; i++ {
		c := set(t, i1, "seq", fmt.Sprint(i))
		for s.Apply(context.Background(), []tagstore.Change{c})[0] != nil {
			if time.Now().After(deadline) {
				t.Fatal("the store did not come back")
			}
			time.Sleep(50 * time.Millisecond)
		}
		retried = append(retried, c)
	}
	checkSequence(t, collect(t, w, len(retried)), 4)
}

// testFeedNotices: a listener hears of a change's group at once (watchers
// rely on it rather than on their sweep), and again after the server
// restarts.
func testFeedNotices(t *testing.T, h FeedHarness, s tagstore.Store) {
	f, _ := feedOf(t, s)
	heard := make(chan string, 100)
	stop := f.NotifyFeed(func(group string) {
		select {
		case heard <- group:
		default:
		}
	})
	defer stop()
	want := grp(t, i1).Key()
	expect := func(when string, change func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if !change() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			select {
			case g := <-heard:
				if g != want {
					t.Fatalf("%s: heard of %q, want %q", when, g, want)
				}
				return
			case <-time.After(200 * time.Millisecond):
				// A subscription being made again may miss it: change again.
			}
		}
		t.Fatalf("%s: no notice within 10 s", when)
	}
	seq := 0
	change := func() bool {
		seq++
		return s.Apply(context.Background(), []tagstore.Change{set(t, i1, "n", fmt.Sprint(seq))})[0] == nil
	}
	time.Sleep(100 * time.Millisecond) // the subscription is made
	expect("a change", change)
	if h.Restart == nil {
		return
	}
	h.Restart(t)
	for len(heard) > 0 {
		<-heard
	}
	expect("a change after a restart", change)
}

// testFeedRetention: a position older than the retention is refused, to
// the reader and to a watcher, rather than silently skipping events.
func testFeedRetention(t *testing.T, _ FeedHarness, s tagstore.Store) {
	f, start := feedOf(t, s)
	apply(t, s, set(t, i1, "k", "v"))
	if evs := readAll(t, f, grp(t, i1), start); len(evs) != 1 {
		t.Fatalf("events: %v", describeAll(evs))
	}
	time.Sleep(1500 * time.Millisecond)
	apply(t, s, set(t, i1, "k", "w"))
	res, err := f.ReadFeed(context.Background(), []tagstore.FeedRead{{Group: grp(t, i1), After: start}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, tagstore.ErrFeedTrimmed) {
		t.Fatalf("reading after an expired position: %v, %v", describeAll(res[0].Events), res[0].Err)
	}
	hub := hubFor(t, s)
	if _, err := hub.Watch(context.Background(), watch.Spec{Ranges: all(), From: &watch.Position{Base: start}}); !errors.Is(err, tagstore.ErrFeedTrimmed) {
		t.Fatalf("watching from an expired position: %v", err)
	}
	if err := f.CheckFeed(context.Background(), start); !errors.Is(err, tagstore.ErrFeedTrimmed) {
		t.Fatalf("CheckFeed of an expired position: %v", err)
	}
	// A fresh position works.
	_, now := feedOf(t, s)
	if res, err := f.ReadFeed(context.Background(), []tagstore.FeedRead{{Group: grp(t, i1), After: now}}, 10); err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	if err := f.CheckFeed(context.Background(), now); err != nil {
		t.Fatal(err)
	}
}

// testJournal: records come back in order, between the bounds asked, a
// page at a time.
func testJournal(t *testing.T, _ FeedHarness, s tagstore.Store) {
	j, ok := tagstore.JournalOf(s)
	if !ok {
		t.Fatal("the store keeps no journal")
	}
	ctx := context.Background()
	for i := range 5 {
		if err := j.AppendJournal(ctx, []byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	end := tagstore.Pos{Ms: uint64(time.Now().Add(time.Minute).UnixMilli())}
	var got []string
	after := tagstore.Pos{}
	for {
		es, err := j.ReadJournal(ctx, after, end, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			got = append(got, string(e.Data))
			after = e.Pos
		}
		if len(es) < 2 {
			break
		}
	}
	equal(t, "journal", got, []string{`{"n":0}`, `{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`})
	es, err := j.ReadJournal(ctx, tagstore.Pos{}, tagstore.Pos{Ms: 1}, 10)
	if err != nil || len(es) != 0 {
		t.Fatalf("records before 1970: %v %v", es, err)
	}
}
