// Package listen opens tagway's listeners: TCP for host:port addresses, a
// Unix domain socket for unix:///path (or unix:path), so that a sidecar's
// application can reach tagway without a TCP port.
package listen

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// SocketMode is the mode of a socket file: its owner and group may
// connect, so an application sharing the group (a pod's fsGroup) can.
const SocketMode fs.FileMode = 0o660

// SocketPath returns the path of a unix: address, and false for any other.
func SocketPath(addr string) (string, bool) {
	if p, ok := strings.CutPrefix(addr, "unix://"); ok {
		return p, true
	}
	return strings.CutPrefix(addr, "unix:")
}

// Listen listens on addr. A Unix socket file left behind by a process that
// died is replaced; one a live process listens on is refused, as is a path
// that is not a socket. The socket file is removed when the listener
// closes.
func Listen(addr string) (net.Listener, error) {
	path, unix := SocketPath(addr)
	if !unix {
		return net.Listen("tcp", addr)
	}
	if path == "" {
		return nil, fmt.Errorf("%q: no socket path (want unix:///path/to/tagway.sock)", addr)
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, SocketMode); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// clearStale removes a socket file no process listens on.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s is in use: another process listens on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s: cannot tell whether it is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the stale socket %s: %w", path, err)
	}
	return nil
}
