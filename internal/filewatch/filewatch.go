// Package filewatch tells when files change on disk. It polls their state,
// which also sees the symlink swaps by which Kubernetes updates mounted
// Secrets and ConfigMaps, and needs no platform notification API.
package filewatch

import (
	"context"
	"os"
	"time"
)

// state is what a poll learns of one file; a missing file is a state too.
type state struct {
	info os.FileInfo
	err  bool
}

func (a state) same(b state) bool {
	if a.err || b.err {
		return a.err == b.err
	}
	return os.SameFile(a.info, b.info) && a.info.ModTime().Equal(b.info.ModTime()) && a.info.Size() == b.info.Size()
}

func stat(path string) state {
	info, err := os.Stat(path) // follows symlinks
	return state{info: info, err: err != nil}
}

// Watch polls paths every interval until ctx is done, and calls changed,
// from its own goroutine, after a poll that finds any of them changed
// (written, replaced, removed or created) since the poll before.
func Watch(ctx context.Context, interval time.Duration, paths []string, changed func()) {
	last := make([]state, len(paths))
	for i, p := range paths {
		last[i] = stat(p)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		moved := false
		for i, p := range paths {
			if s := stat(p); !s.same(last[i]) {
				last[i], moved = s, true
			}
		}
		if moved {
			changed()
		}
	}
}
