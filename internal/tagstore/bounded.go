package tagstore

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/tagway/tagway/internal/arn"
)

// ErrLate reports a change the store refused to apply because its deadline
// (its context's) had passed by the store's own clock when the store got to
// it: it was not applied, and never will be. A change sent to a stalled
// store thus cannot take effect after its caller gave up on it.
var ErrLate = errors.New("the change reached the store after its deadline and was not applied")

// ErrFull reports a change that would add data to a store that is out of
// memory: it was not applied, and retrying will not help until the store
// has room. A change that only removes tags is applied even then.
var ErrFull = errors.New("the tag store is full")

// Bounded returns s with every call bounded by timeout: a call that has no
// earlier deadline gets one, which the store also holds changes to (see
// ErrLate). ForgetEmpty, housekeeping that walks every group, gets thirty
// times as long.
func Bounded(s Store, timeout time.Duration) *BoundedStore {
	return &BoundedStore{Store: s, timeout: timeout}
}

// BoundedStore is a Store whose calls are bounded in time.
type BoundedStore struct {
	Store
	timeout time.Duration
	// last is the latest deadline given to a change, in Unix nanoseconds.
	last atomic.Int64
}

// Unwrap implements Wrapper.
func (b *BoundedStore) Unwrap() Store { return b.Store }

func (b *BoundedStore) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.timeout)
}

// Apply implements Store.
func (b *BoundedStore) Apply(ctx context.Context, changes []Change) []error {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	if d, ok := ctx.Deadline(); ok {
		for {
			last := b.last.Load()
			if d.UnixNano() <= last || b.last.CompareAndSwap(last, d.UnixNano()) {
				break
			}
		}
	}
	return b.Store.Apply(ctx, changes)
}

// Settle waits until the deadline of every change sent so far has passed,
// plus margin (for the store's clock against ours), or ctx ends: from then
// on, no change sent through b can still take effect. tagway calls it
// before it exits, so that nothing lands in the store after it has gone.
func (b *BoundedStore) Settle(ctx context.Context, margin time.Duration) {
	wait := time.Until(time.Unix(0, b.last.Load()).Add(margin))
	if wait <= 0 {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(wait):
	}
}

// Get implements Store.
func (b *BoundedStore) Get(ctx context.Context, names []arn.Name) ([]Resource, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.Store.Get(ctx, names)
}

// Groups implements Store.
func (b *BoundedStore) Groups(ctx context.Context, r arn.KeyRange, limit int) ([]arn.Group, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.Store.Groups(ctx, r, limit)
}

// GroupsWithKey implements Store.
func (b *BoundedStore) GroupsWithKey(ctx context.Context, key string, r arn.KeyRange, limit int) ([]arn.Group, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.Store.GroupsWithKey(ctx, key, r, limit)
}

// Keys implements Store.
func (b *BoundedStore) Keys(ctx context.Context, from string, limit int) ([]string, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.Store.Keys(ctx, from, limit)
}

// ScanResources implements Store.
func (b *BoundedStore) ScanResources(ctx context.Context, g arn.Group, q ScanQuery) (ScanResult, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.Store.ScanResources(ctx, g, q)
}

// ScanKeys implements Store.
func (b *BoundedStore) ScanKeys(ctx context.Context, gs []arn.Group, q StringsQuery) ([]StringsResult, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.Store.ScanKeys(ctx, gs, q)
}

// ScanValues implements Store.
func (b *BoundedStore) ScanValues(ctx context.Context, gs []arn.Group, key string, q StringsQuery) ([]StringsResult, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.Store.ScanValues(ctx, gs, key, q)
}

// Count implements Store.
func (b *BoundedStore) Count(ctx context.Context, g arn.Group, q CountQuery) (int, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.Store.Count(ctx, g, q)
}

// ForgetEmpty implements Store.
func (b *BoundedStore) ForgetEmpty(ctx context.Context, limit int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*b.timeout)
	defer cancel()
	return b.Store.ForgetEmpty(ctx, limit)
}

// Ping implements Store.
func (b *BoundedStore) Ping(ctx context.Context) error {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.Store.Ping(ctx)
}

// Secret implements Store.
func (b *BoundedStore) Secret(ctx context.Context) ([]byte, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.Store.Secret(ctx)
}
