// Package overload bounds the calls in flight: past the bound, a call is
// refused at once, so that a flood is answered quickly with "busy" instead
// of queueing until its clients time out.
package overload

import "sync/atomic"

// Bound counts calls in flight against a maximum.
type Bound struct {
	max  int64
	n    atomic.Int64
	exit func() // b.leave, made once: a method value allocates each time
}

// New returns a Bound of max calls; 0 or less is no bound.
func New(max int) *Bound {
	b := &Bound{max: int64(max)}
	b.exit = b.leave
	return b
}

// Max returns the bound; 0 for none.
func (b *Bound) Max() int { return int(max(b.max, 0)) }

// InFlight returns the calls in flight.
func (b *Bound) InFlight() int { return int(b.n.Load()) }

// Enter admits a call if fewer than the bound are in flight; release ends
// it. It never waits.
func (b *Bound) Enter() (release func(), ok bool) {
	if n := b.n.Add(1); b.max > 0 && n > b.max {
		b.n.Add(-1)
		return nil, false
	}
	return b.exit, true
}

func (b *Bound) leave() { b.n.Add(-1) }
