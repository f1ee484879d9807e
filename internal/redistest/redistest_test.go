package redistest

import (
	"strings"
	"testing"
)

func TestStartStop(t *testing.T) {
	s := Run(t)
	if _, err := s.Do("SET", "k", "v\r\nwith crlf"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Do("GET", "k")
	if err != nil || got != "v\r\nwith crlf" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	if _, err := s.Do("NOSUCHCOMMAND"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
	s.Stop()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("server answers after Stop")
	}
}

func TestCluster(t *testing.T) {
	c := RunCluster(t)
	info, err := c.Nodes[1].Do("CLUSTER", "INFO")
	if err != nil || !strings.Contains(info, "cluster_known_nodes:3") {
		t.Fatalf("CLUSTER INFO = %q, %v", info, err)
	}
}

func TestSentinel(t *testing.T) {
	m := Run(t)
	s, err := StartSentinel(m, "tw")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if _, err := s.Do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "tw"); err != nil {
		t.Fatal(err)
	}
}
