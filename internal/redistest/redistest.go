// Package redistest starts real redis-server processes on free loopback ports
// for tests: a standalone server, a Cluster, or a Sentinel watching a server.
// It never falls back to a fake: without redis-server a test fails.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running redis-server (or redis-sentinel) process.
type Server struct {
	Addr string // host:port
	cmd  *exec.Cmd
	dir  string
	log  string
	done chan struct{}
}

// URL returns the redis:// URL of s, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Stop kills the process and removes its files.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	_ = os.RemoveAll(s.dir)
}

// Start starts a standalone server that keeps nothing on disk. extra are
// further redis-server arguments.
func Start(extra ...string) (*Server, error) {
	return start("redis-server", nil, extra...)
}

// Run starts a standalone server for the length of the test.
func Run(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func start(binary string, config []string, extra ...string) (*Server, error) {
	path, err := exec.LookPath(binary)
	if err != nil {
		return nil, fmt.Errorf("redistest: %s is not installed (apt-get install redis-server): %w", binary, err)
	}
	var lastErr error
	for range 5 { // the free port may be taken between probe and bind
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := launch(path, port, config, extra)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launch(path string, port int, config []string, extra []string) (*Server, error) {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, log: filepath.Join(dir, "redis.log"), done: make(chan struct{})}
	conf := filepath.Join(dir, "redis.conf")
	lines := append([]string{
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		"dir " + dir,
		"logfile " + s.log,
		`save ""`,
		"appendonly no",
	}, config...)
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(path, append([]string{conf}, extra...)...)
	setDeathSignal(s.cmd)
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("redistest: start %s: %w", path, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			logText, _ := os.ReadFile(s.log)
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("redistest: %s on port %d exited: %s", path, port, lastLines(string(logText), 3))
		default:
		}
		if reply, err := s.Do("PING"); err == nil && reply == "PONG" {
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("redistest: %s on port %d did not answer PING within 10s", path, port)
}

// Do sends one command over a fresh connection and returns the reply as
// text: a simple string, an integer, a bulk string, or an error.
func (s *Server) Do(args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "+"), strings.HasPrefix(line, ":"):
		return line[1:], nil
	case strings.HasPrefix(line, "-"):
		return "", errors.New(line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return line, nil
}

// Cluster is a running Redis Cluster of masters without replicas.
type Cluster struct {
	Nodes []*Server
}

// URL returns the redis+cluster:// URL tagway accepts for c.
func (c *Cluster) URL() string {
	u := "redis+cluster://" + c.Nodes[0].Addr
	for i, n := range c.Nodes[1:] {
		if i == 0 {
			u += "?"
		} else {
			u += "&"
		}
		u += "addr=" + n.Addr
	}
	return u
}

// Stop stops every node.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
}

// StartCluster starts n cluster-enabled servers and joins them, with the
// hash slots spread over all of them.
func StartCluster(n int) (*Cluster, error) {
	c := &Cluster{}
	for range n {
		s, err := start("redis-server", []string{"cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 5000"})
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
	}
	args := []string{"--cluster", "create"}
	for _, s := range c.Nodes {
		args = append(args, s.Addr)
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("redistest: redis-cli --cluster create: %v: %s", err, lastLines(string(out), 5))
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range c.Nodes {
		for {
			info, err := s.Do("CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.Stop()
				return nil, fmt.Errorf("redistest: cluster node %s not ready: %v %s", s.Addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c, nil
}

// RunCluster starts a three-node cluster for the length of the test.
func RunCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// StartSentinel starts a Sentinel that monitors master under the name
// master.
func StartSentinel(master *Server, name string) (*Server, error) {
	host, port, _ := net.SplitHostPort(master.Addr)
	return start("redis-server", []string{
		fmt.Sprintf("sentinel monitor %s %s %s 1", name, host, port),
		fmt.Sprintf("sentinel down-after-milliseconds %s 5000", name),
	}, "--sentinel")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
