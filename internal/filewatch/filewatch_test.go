package filewatch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan struct{}, 10)
	go Watch(ctx, 5*time.Millisecond, []string{path}, func() { changes <- struct{}{} })
	wait := func(what string, want bool) {
		t.Helper()
		select {
		case <-changes:
			if !want {
				t.Fatalf("%s: a change was reported", what)
			}
		case <-time.After(200 * time.Millisecond):
			if want {
				t.Fatalf("%s: no change was reported", what)
			}
		}
	}
	time.Sleep(20 * time.Millisecond)
	wait("untouched", false)
	if err := os.WriteFile(path, []byte("two, longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	wait("written", true)
	// Replaced through a rename, as Kubernetes swaps a mounted Secret.
	next := filepath.Join(dir, "g")
	if err := os.WriteFile(next, []byte("two, longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	wait("replaced", true)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	wait("removed", true)
	wait("still removed", false)
}
