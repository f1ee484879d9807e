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
	"syscall"
	"testing"
	"time"
)

// Server is a running redis-server (or redis-sentinel) process.
type Server struct {
	Addr string // host:port
	// Password is the server's requirepass; Do authenticates with it.
	Password string

	path  string
	port  int
	extra []string
	cmd   *exec.Cmd
	dir   string
	log   string
	done  chan struct{}
}

// URL returns the redis:// URL of s, database 0, with its password.
func (s *Server) URL() string {
	if s.Password != "" {
		return "redis://:" + s.Password + "@" + s.Addr + "/0"
	}
	return "redis://" + s.Addr + "/0"
}

// Stop kills the process and removes its files.
func (s *Server) Stop() {
	s.Kill()
	_ = os.RemoveAll(s.dir)
}

// Kill kills the process with SIGKILL, as a crash would, and keeps its
// files for Restart.
func (s *Server) Kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused process dies too
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Restart starts a killed server again, on the same port with the same
// configuration and files.
func (s *Server) Restart() error {
	return s.run()
}

// Pause stops the process (SIGSTOP): it keeps its connections and answers
// nothing, as a stalled server does, until Resume.
func (s *Server) Pause() error { return s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused process.
func (s *Server) Resume() error { return s.cmd.Process.Signal(syscall.SIGCONT) }

// IsMaster reports whether s answers and is a master.
func (s *Server) IsMaster() bool {
	info, err := s.Do("INFO", "replication")
	return err == nil && strings.Contains(info, "role:master")
}

// Config configures a server for StartConfig.
type Config struct {
	// Password is set as requirepass (and masterauth, for replicas).
	Password string
	// ReplicaOf makes the server a replica of that one.
	ReplicaOf *Server
	// Lines are further redis.conf lines, such as "appendonly yes".
	Lines []string
}

// Start starts a standalone server that keeps nothing on disk. extra are
// further redis-server arguments.
func Start(extra ...string) (*Server, error) {
	return start("redis-server", nil, "", extra...)
}

// StartConfig starts a server configured by c.
func StartConfig(c Config) (*Server, error) {
	lines := c.Lines
	if c.Password != "" {
		lines = append(lines, "requirepass "+c.Password, "masterauth "+c.Password)
	}
	if c.ReplicaOf != nil {
		host, port, _ := net.SplitHostPort(c.ReplicaOf.Addr)
		lines = append(lines, "replicaof "+host+" "+port)
	}
	return start("redis-server", lines, c.Password)
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

func start(binary string, config []string, password string, extra ...string) (*Server, error) {
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
		s, err := launch(path, port, config, password, extra)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launch(path string, port int, config []string, password string, extra []string) (*Server, error) {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Password: password,
		path: path, port: port, extra: extra, dir: dir, log: filepath.Join(dir, "redis.log"),
	}
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
	if err := s.run(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// run starts the process and waits until it answers PING.
func (s *Server) run() error {
	s.done = make(chan struct{})
	s.cmd = exec.Command(s.path, append([]string{filepath.Join(s.dir, "redis.conf")}, s.extra...)...)
	setDeathSignal(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start %s: %w", s.path, err)
	}
	done := s.done
	go func() { _ = s.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			logText, _ := os.ReadFile(s.log)
			return fmt.Errorf("redistest: %s on port %d exited: %s", s.path, s.port, lastLines(string(logText), 3))
		default:
		}
		if reply, err := s.Do("PING"); err == nil && reply == "PONG" {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Kill()
	return fmt.Errorf("redistest: %s on port %d did not answer PING within 10s", s.path, s.port)
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
	if s.Password != "" {
		fmt.Fprintf(&b, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(s.Password), s.Password)
	}
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	if s.Password != "" {
		if line, err := r.ReadString('\n'); err != nil {
			return "", err
		} else if strings.HasPrefix(line, "-") {
			return "", errors.New(strings.TrimSpace(line[1:]))
		}
	}
	return readReply(r)
}

// readReply reads one reply: a simple string, an integer or a bulk string
// as its text, an array as its elements' texts joined by spaces.
func readReply(r *bufio.Reader) (string, error) {
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
	case strings.HasPrefix(line, "*"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		items := make([]string, n)
		for i := range items {
			if items[i], err = readReply(r); err != nil {
				return "", err
			}
		}
		return strings.Join(items, " "), nil
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
	return StartClusterConfig(ClusterConfig{Masters: n})
}

// ClusterConfig configures a Cluster for StartClusterConfig.
type ClusterConfig struct {
	// Masters is how many masters share the slots; Replicas how many
	// replicas each has.
	Masters, Replicas int
	// NodeTimeout is cluster-node-timeout: how long a node may not answer
	// before it is failed over; 5 s when zero.
	NodeTimeout time.Duration
	// Lines are further redis.conf lines for every node.
	Lines []string
}

// StartClusterConfig starts a Cluster configured by cc. Nodes lists the
// masters first, then the replicas, as redis-cli assigned them.
func StartClusterConfig(cc ClusterConfig) (*Cluster, error) {
	timeout := cc.NodeTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	c := &Cluster{}
	lines := append([]string{"cluster-enabled yes", "cluster-config-file nodes.conf", fmt.Sprintf("cluster-node-timeout %d", timeout.Milliseconds())}, cc.Lines...)
	for range cc.Masters * (1 + cc.Replicas) {
		s, err := start("redis-server", lines, "")
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
	args = append(args, "--cluster-replicas", strconv.Itoa(cc.Replicas), "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("redistest: redis-cli --cluster create: %v: %s", err, lastLines(string(out), 5))
	}
	if err := c.WaitOK(20 * time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	// Replicas sync from their masters after the join: wait for them, so
	// that a test's first writes replicate.
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range c.Nodes {
		for {
			info, err := n.Do("INFO", "replication")
			if err == nil && (strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up")) {
				break
			}
			if time.Now().After(deadline) {
				c.Stop()
				return nil, fmt.Errorf("redistest: replica %s not in sync: %v %s", n.Addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c, nil
}

// WaitOK waits until every running node reports cluster_state:ok and
// agrees that every slot is served.
func (c *Cluster) WaitOK(d time.Duration) error {
	deadline := time.Now().Add(d)
	for _, s := range c.Nodes {
		select {
		case <-s.done:
			continue // killed
		default:
		}
		for {
			info, err := s.Do("CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_slots_ok:16384") {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("redistest: cluster node %s not ready: %v %s", s.Addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// Master returns the node that serves the slot of key.
func (c *Cluster) Master(key string) (*Server, error) {
	for _, n := range c.Nodes {
		if !n.IsMaster() {
			continue
		}
		slot, err := n.Do("CLUSTER", "KEYSLOT", key)
		if err != nil {
			continue
		}
		if keys, err := n.Do("CLUSTER", "COUNTKEYSINSLOT", slot); err == nil && keys != "0" {
			return n, nil
		}
	}
	return nil, fmt.Errorf("redistest: no master holds %s", key)
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
	return StartSentinelConfig(master, name, SentinelConfig{})
}

// SentinelConfig configures a Sentinel for StartSentinelConfig.
type SentinelConfig struct {
	// Password is the Sentinel's own requirepass.
	Password string
	// DownAfter is how long the master may not answer before it is failed
	// over; 5 s when zero.
	DownAfter time.Duration
}

// StartSentinelConfig starts a Sentinel that monitors master under the
// name, with a quorum of one, authenticating to the servers with master's
// password.
func StartSentinelConfig(master *Server, name string, sc SentinelConfig) (*Server, error) {
	host, port, _ := net.SplitHostPort(master.Addr)
	down := sc.DownAfter
	if down == 0 {
		down = 5 * time.Second
	}
	lines := []string{
		fmt.Sprintf("sentinel monitor %s %s %s 1", name, host, port),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", name, down.Milliseconds()),
		fmt.Sprintf("sentinel failover-timeout %s %d", name, max(2*down.Milliseconds(), 2000)),
	}
	if master.Password != "" {
		lines = append(lines, fmt.Sprintf("sentinel auth-pass %s %s", name, master.Password))
	}
	if sc.Password != "" {
		lines = append(lines, "requirepass "+sc.Password)
	}
	return start("redis-server", lines, sc.Password, "--sentinel")
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

// CommandStat is one command's line of INFO commandstats.
type CommandStat struct {
	Calls float64
	Usec  float64
}

// CommandStats returns INFO commandstats by command (as Redis names them:
// "evalsha", "config|resetstat").
func (s *Server) CommandStats() (map[string]CommandStat, error) {
	text, err := s.Do("INFO", "commandstats")
	if err != nil {
		return nil, err
	}
	out := map[string]CommandStat{}
	for _, line := range strings.Split(text, "\n") {
		name, fields, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isStat := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isStat {
			continue
		}
		var st CommandStat
		for _, f := range strings.Split(fields, ",") {
			k, v, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseFloat(v, 64)
			switch k {
			case "calls":
				st.Calls = n
			case "usec":
				st.Usec = n
			}
		}
		out[name] = st
	}
	return out, nil
}
