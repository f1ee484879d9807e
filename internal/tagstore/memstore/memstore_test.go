package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/arn"

	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
	"github.com/tagway/tagway/internal/tagstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) tagstore.Store { return memstore.New() })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(*testing.B) tagstore.Store { return memstore.New() })
}

func TestFeed(t *testing.T) {
	storetest.RunFeed(t, storetest.FeedHarness{
		New: func(_ *testing.T, retention time.Duration) tagstore.Store {
			return memstore.New(memstore.WithFeed(retention, 0))
		},
	})
}

// TestFeedCountBound checks that a group keeps at most its bound of events,
// and that a reader behind them is told so rather than skipping some.
func TestFeedCountBound(t *testing.T) {
	s := memstore.New(memstore.WithFeed(time.Hour, 10))
	start, _ := s.FeedNow(context.Background())
	n, _ := arn.Parse("arn:aws:ec2:us-east-1:111111111111:instance/i-1")
	for i := range 25 {
		if err := s.Apply(context.Background(), []tagstore.Change{{Resource: n, Set: map[string]string{"k": fmt.Sprint(i)}}})[0]; err != nil {
			t.Fatal(err)
		}
	}
	g := n.Group("", "")
	res, err := s.ReadFeed(context.Background(), []tagstore.FeedRead{{Group: g, After: start}}, 100)
	if err != nil || !errors.Is(res[0].Err, tagstore.ErrFeedTrimmed) {
		t.Fatalf("read behind the bound: %v %v", res, err)
	}
	if res[0].Events != nil {
		t.Fatalf("events handed out past the gap: %d", len(res[0].Events))
	}
}

// TestFeedOff checks that a store without a feed says so.
func TestFeedOff(t *testing.T) {
	s := memstore.New(memstore.WithFeed(0, 0))
	if _, err := s.ReadFeed(context.Background(), nil, 1); !errors.Is(err, tagstore.ErrNoFeed) {
		t.Fatal(err)
	}
}
