// Package filewatch tells when files change on disk, and holds the version
// in force of a file loaded whole. It polls the files' state, which also
// sees the symlink swaps by which Kubernetes updates mounted Secrets and
// ConfigMaps, and needs no platform notification API.
package filewatch

import (
	"context"
	"os"
	"sync/atomic"
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

// Source is a file that is loaded whole, and the version of it in force:
// the auth file, the policy file.
type Source[T any] struct {
	path string
	load func(path string) (*T, error)
	cur  atomic.Pointer[T]
}

// Open loads the file at path with load.
func Open[T any](path string, load func(path string) (*T, error)) (*Source[T], error) {
	v, err := load(path)
	if err != nil {
		return nil, err
	}
	s := &Source[T]{path: path, load: load}
	s.cur.Store(v)
	return s, nil
}

// Path returns the file's path.
func (s *Source[T]) Path() string { return s.path }

// Current returns the version in force.
func (s *Source[T]) Current() *T { return s.cur.Load() }

// Reload loads the file again. A version that does not load is returned as
// an error, and the one in force stays.
func (s *Source[T]) Reload() (*T, error) {
	v, err := s.load(s.path)
	if err != nil {
		return nil, err
	}
	s.cur.Store(v)
	return v, nil
}
