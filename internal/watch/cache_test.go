package watch

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// TestCacheBounded: the hub's copy of a busy group stays within
// cacheEvents (and a quarter), its count goes back to zero with the last
// watcher, and a watcher behind the copy still gets every event.
func TestCacheBounded(t *testing.T) {
	st := memstore.New()
	h, err := New(st, Options{Sweep: time.Hour, Progress: time.Hour, Coalesce: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := h.Watch(ctx, Spec{Ranges: []arn.KeyRange{arn.AllGroups}})
	if err != nil {
		t.Fatal(err)
	}
	const n = cacheEvents * 2
	name, err := arn.Parse("arn:aws:ec2:us-east-1:111111111111:instance/i-1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := st.Apply(ctx, []tagstore.Change{{Resource: name, Set: map[string]string{"seq": fmt.Sprint(i)}}})[0]; err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for got < n {
		items, err := w.Next(rctx)
		if err != nil {
			t.Fatalf("after %d events: %v", got, err)
		}
		for _, it := range items {
			if it.Event != nil {
				if want := fmt.Sprint(got); it.Event.Tags[0].Value != want {
					t.Fatalf("event %d carries seq %s", got, it.Event.Tags[0].Value)
				}
				got++
			}
		}
		if c := h.cached.Load(); c > cacheEvents+cacheEvents/4 || c <= 0 {
			t.Fatalf("the hub counts %d cached events", c)
		}
	}
	w.Close()
	if c := h.cached.Load(); c != 0 {
		t.Fatalf("after the last watcher the hub counts %d cached events", c)
	}
}
