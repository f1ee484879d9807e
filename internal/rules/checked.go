package rules

import (
	"context"

	"github.com/tagway/tagway/internal/arn"
)

// Checked holds names a layer in front of the core has already parsed and
// found acceptable to their kind (Kind.CheckName), by their text. A dialect
// that must look at a call's names before the core does hands them on with
// WithChecked, so that each name of a call is parsed and checked once.
//
// It is a list rather than a map: a dialect adds the names in the order of
// the call's list, where the core then finds each at its own index without
// hashing it.
type Checked struct {
	entries []checkedEntry
}

type checkedEntry struct {
	text string
	name arn.Name
}

// NewChecked returns an empty Checked with room for n names.
func NewChecked(n int) *Checked {
	return &Checked{entries: make([]checkedEntry, 0, n)}
}

// Add records that the text s is the name n, checked.
func (c *Checked) Add(s string, n arn.Name) {
	c.entries = append(c.entries, checkedEntry{s, n})
}

// Name returns the name the text s was parsed into, if c holds it; i is
// where s is in the call's list, where c most likely holds it too. A nil c
// holds nothing.
func (c *Checked) Name(i int, s string) (arn.Name, bool) {
	if c == nil {
		return arn.Name{}, false
	}
	if i >= 0 && i < len(c.entries) && c.entries[i].text == s {
		return c.entries[i].name, true
	}
	for _, e := range c.entries {
		if e.text == s {
			return e.name, true
		}
	}
	return arn.Name{}, false
}

type checkedKey struct{}

// WithChecked returns ctx carrying c.
func WithChecked(ctx context.Context, c *Checked) context.Context {
	return context.WithValue(ctx, checkedKey{}, c)
}

// CheckedOf returns the names ctx carries as checked; nil, which holds
// none, if it carries none.
func CheckedOf(ctx context.Context) *Checked {
	c, _ := ctx.Value(checkedKey{}).(*Checked)
	return c
}
