package storehealth

import (
	"context"
	"time"

	"github.com/tagway/tagway/internal/tagstore"
)

// DefaultForgetInterval is how often Forget asks the store to forget empty
// groups.
const DefaultForgetInterval = 10 * time.Second

// forgetLimit bounds the groups one ForgetEmpty call forgets.
const forgetLimit = 10000

// Forget calls store.ForgetEmpty every interval until ctx ends, so that
// groups left empty (by refused changes) stop costing listings; failures go
// to f. Several replicas may run it at once.
func Forget(ctx context.Context, store tagstore.Store, interval time.Duration, f *Failures) {
	if interval <= 0 {
		interval = DefaultForgetInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := store.ForgetEmpty(ctx, forgetLimit); err != nil && ctx.Err() == nil {
			f.Report(ctx, "forget", err)
		}
	}
}
