package rules

import (
	"context"

	"github.com/tagway/tagway/internal/arn"
)

// Checked holds names a layer in front of the core has already parsed and
// found acceptable to their kind (Kind.CheckName), by their text. A dialect
// that must look at a call's names before the core does hands them on with
// WithChecked, so that each name of a call is parsed and checked once.
type Checked map[string]arn.Name

type checkedKey struct{}

// WithChecked returns ctx carrying c.
func WithChecked(ctx context.Context, c Checked) context.Context {
	return context.WithValue(ctx, checkedKey{}, c)
}

// CheckedName returns the name s was parsed into, if ctx carries it as
// checked.
func CheckedName(ctx context.Context, s string) (arn.Name, bool) {
	c, _ := ctx.Value(checkedKey{}).(Checked)
	n, ok := c[s]
	return n, ok
}
