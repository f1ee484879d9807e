// Package memo keeps values that are costly to make and never change once
// made, by key, for the hot path of every call: a read-locked lookup, and a
// bound past which it starts over, so that keys no longer asked for (the
// principals of an auth file reloaded long ago) do not pile up.
package memo

import "sync"

// Bounded is a memo of at most Max values; its zero value is not usable
// (New).
type Bounded[K comparable, V any] struct {
	max int
	mu  sync.RWMutex
	m   map[K]V
}

// New returns an empty memo of at most max values.
func New[K comparable, V any](max int) *Bounded[K, V] {
	return &Bounded[K, V]{max: max, m: map[K]V{}}
}

// Get returns the value of k, made by make on first use. Two callers may
// both make it; one value is kept.
func (b *Bounded[K, V]) Get(k K, make func() V) V {
	b.mu.RLock()
	v, ok := b.m[k]
	b.mu.RUnlock()
	if ok {
		return v
	}
	v = make()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.m) >= b.max {
		clear(b.m)
	}
	b.m[k] = v
	return v
}
