package tagstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// deadlineStore records the deadline of each call.
type deadlineStore struct {
	tagstore.Store
	got time.Time
}

func (d *deadlineStore) Apply(ctx context.Context, cs []tagstore.Change) []error {
	d.got, _ = ctx.Deadline()
	return d.Store.Apply(ctx, cs)
}

func TestBoundedGivesEveryChangeADeadlineAndSettles(t *testing.T) {
	inner := &deadlineStore{Store: memstore.New()}
	b := tagstore.Bounded(inner, 200*time.Millisecond)
	n, _ := arn.Parse("arn:aws:s3:::b")
	start := time.Now()
	if err := b.Apply(context.Background(), []tagstore.Change{{Resource: n, Set: map[string]string{"k": "v"}}})[0]; err != nil {
		t.Fatal(err)
	}
	if d := inner.got.Sub(start); d <= 0 || d > 250*time.Millisecond {
		t.Fatalf("deadline %v after the call", d)
	}
	// An earlier deadline of the caller's is kept.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	b.Apply(ctx, []tagstore.Change{{Resource: n, Remove: []string{"k"}}})
	if d := inner.got.Sub(start); d > 100*time.Millisecond {
		t.Fatalf("the caller's earlier deadline was not kept: %v", d)
	}
	// Settle waits for the latest deadline given (the first's), plus margin.
	b.Settle(context.Background(), 10*time.Millisecond)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("Settle returned %v after the change, before its deadline", d)
	}
}
