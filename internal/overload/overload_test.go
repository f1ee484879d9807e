package overload

import (
	"sync"
	"testing"
)

func TestBound(t *testing.T) {
	b := New(3)
	var releases []func()
	for i := range 3 {
		r, ok := b.Enter()
		if !ok {
			t.Fatalf("call %d refused under the bound", i)
		}
		releases = append(releases, r)
	}
	if _, ok := b.Enter(); ok {
		t.Fatal("a 4th call admitted with a bound of 3")
	}
	releases[0]()
	r, ok := b.Enter()
	if !ok {
		t.Fatal("refused after a release")
	}
	r()
	for _, r := range releases[1:] {
		r()
	}
	if b.InFlight() != 0 {
		t.Fatalf("%d in flight after every release", b.InFlight())
	}
}

func TestUnbounded(t *testing.T) {
	b := New(0)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			r, ok := b.Enter()
			if !ok {
				t.Error("refused without a bound")
				return
			}
			r()
		})
	}
	wg.Wait()
	if b.InFlight() != 0 || b.Max() != 0 {
		t.Fatalf("InFlight %d Max %d", b.InFlight(), b.Max())
	}
}

// TestConcurrentBound checks that the bound holds under racing callers.
func TestConcurrentBound(t *testing.T) {
	b := New(4)
	var mu sync.Mutex
	in, peak := 0, 0
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 100 {
				r, ok := b.Enter()
				if !ok {
					continue
				}
				mu.Lock()
				in++
				peak = max(peak, in)
				mu.Unlock()
				mu.Lock()
				in--
				mu.Unlock()
				r()
			}
		})
	}
	wg.Wait()
	if peak > 4 {
		t.Fatalf("%d calls in flight at once under a bound of 4", peak)
	}
}
