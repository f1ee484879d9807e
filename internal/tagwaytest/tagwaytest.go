// Package tagwaytest builds the real tagway binary and runs it for tests, as
// a user would: flags on the command line, addresses read from its log,
// readiness from /healthz, and a signal to stop it.
package tagwaytest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Build compiles ./cmd/tagway of the module at root into dir, with the race
// detector, and returns the binary's path.
func Build(root, dir string) (string, error) {
	bin := filepath.Join(dir, "tagway")
	cmd := exec.Command("go", "build", "-race", "-o", bin, "./cmd/tagway")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/tagway: %v\n%s", err, out)
	}
	return bin, nil
}

// Proc is a running tagway.
type Proc struct {
	cmd *exec.Cmd
	// GRPC and HTTP are the addresses it listens on.
	GRPC, HTTP string
	// TLS reports that it serves TLS (--tls-cert-file).
	TLS  bool
	log  chan string // stderr lines
	seen []string    // lines WaitLog read
	done chan error
}

// URL returns the base URL of the HTTP listener.
func (p *Proc) URL() string {
	if p.TLS {
		return "https://" + p.HTTP
	}
	return "http://" + p.HTTP
}

var listening = regexp.MustCompile(`msg="tagway listening" grpc=(\S+) http=(\S+)`)

// Start runs the binary on free loopback ports with extra flags, waits
// until /healthz answers, and kills it when the test ends unless Stop did.
func Start(t testing.TB, binary string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = []string{}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{cmd: cmd, log: make(chan string, 1000), done: make(chan error, 1), TLS: slices.Contains(args, "--tls-cert-file")}
	addrs := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1:]
				continue
			}
			// Access lines (one per request) may fill only half of the
			// buffer, so that a load test leaves room for the lines a
			// test waits for.
			if strings.Contains(sc.Text(), " msg=request ") && len(p.log) >= cap(p.log)/2 {
				continue
			}
			select {
			case p.log <- sc.Text():
			default: // a test that never reads the log must not block tagway
			}
		}
		close(p.log)
		p.done <- cmd.Wait()
	}()
	select {
	case a := <-addrs:
		p.GRPC, p.HTTP = a[0], a[1]
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("tagway did not log its addresses")
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	// The probe does not check the certificate: the test that asked for TLS
	// checks what it needs to.
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for {
		resp, err := probe.Get(p.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PID returns tagway's process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Done returns a channel that receives tagway's exit (nil for status 0)
// once it has exited and its log is read.
func (p *Proc) Done() <-chan error { return p.done }

// Signal sends sig to tagway.
func (p *Proc) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// WaitLog reads tagway's log until a line contains substr, and returns that
// line; it fails the test after timeout.
func (p *Proc) WaitLog(t testing.TB, substr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-p.log:
			if !ok {
				t.Fatalf("tagway exited before logging %q", substr)
			}
			p.seen = append(p.seen, l)
			if strings.Contains(l, substr) {
				return l
			}
		case <-deadline:
			t.Fatalf("tagway did not log %q within %v; log so far:\n%s", substr, timeout, strings.Join(p.seen, "\n"))
		}
	}
}

// Lines returns every line tagway has logged so far (but its listening
// line), without waiting.
func (p *Proc) Lines() []string {
	for {
		select {
		case l, ok := <-p.log:
			if !ok {
				return p.seen
			}
			p.seen = append(p.seen, l)
		default:
			return p.seen
		}
	}
}

// Stop sends sig, checks that tagway exits 0 within 10 s, and returns
// everything it logged but its listening line.
func (p *Proc) Stop(t testing.TB, sig syscall.Signal) []string {
	t.Helper()
	p.Signal(t, sig)
	lines := p.seen
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-p.log:
			if ok {
				lines = append(lines, l)
				continue
			}
			select {
			case err := <-p.done:
				if err != nil {
					t.Fatalf("tagway exited with %v after %v; log:\n%s", err, sig, strings.Join(lines, "\n"))
				}
				return lines
			case <-timeout:
			}
		case <-timeout:
		}
		t.Fatalf("tagway did not exit within 10s of %v", sig)
	}
}

// ModuleRoot returns the directory of the tagway module, found by walking up
// from the working directory to the go.mod that declares it.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && regexp.MustCompile(`(?m)^module github\.com/tagway/tagway$`).Match(b) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/tagway/tagway above the working directory")
		}
		dir = parent
	}
}
