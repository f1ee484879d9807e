package e2e

import (
	"strings"
	"testing"
	"time"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// The failover drills kill a master under load, let Sentinel or the
// Cluster promote its replica, and bring the old master back as a replica.
// tagway follows the new master without a restart, calls meanwhile get the
// surfaces' retryable errors, and afterwards every index is exact. With
// wait_replicas=1 no acknowledged change is lost; without it (the default,
// asynchronous replication) a failover may lose the last changes a master
// acknowledged, which docs/redis-keys.md states.

// startReplicaOf starts a replica of m and waits until it is in sync.
func startReplicaOf(t *testing.T, m *redistest.Server, lines ...string) *redistest.Server {
	t.Helper()
	r, err := redistest.StartConfig(redistest.Config{ReplicaOf: m, Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	waitFor(t, 10*time.Second, "the replica to sync", func() bool {
		info, _ := r.Do("INFO", "replication")
		return strings.Contains(info, "master_link_status:up")
	})
	return r
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("waited %v for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// failover runs load on tw, kills master, waits for promoted to report
// that a new master took over, restarts the old master (which rejoins as a
// replica), and checks what the load saw. modelExact says whether the
// store promised to lose nothing acknowledged (wait_replicas).
func failover(t *testing.T, tw *tagwaytest.Proc, master *redistest.Server, promoted func() bool, storeURL string, modelExact bool) {
	l := newLoad(t, tw)
	l.start(2)
	ready := watchReadiness(tw)
	time.Sleep(time.Second)
	master.Kill()
	killed := time.Now()
	took := waitFor(t, 30*time.Second, "a replica to be promoted", promoted)
	if err := master.Restart(); err != nil {
		t.Fatal(err)
	}
	// Service resumes: some call of every surface is acknowledged again.
	before := l.ops.Load()
	waitFor(t, 30*time.Second, "calls to succeed again", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.ops.Load() > before+30
	})
	time.Sleep(2 * time.Second)
	l.halt()
	ready.halt()
	if down, up := ready.outage(killed); !down.IsZero() {
		t.Logf("promoted %v after the kill; not ready %v after it, ready again %v after it", took, down.Sub(killed), up.Sub(killed))
	} else {
		// A Cluster client reaches the surviving masters: only the calls to
		// the failed master's slots fail meanwhile.
		t.Logf("promoted %v after the kill; readiness never dropped", took)
	}
	if modelExact {
		l.check(tw, false)
	} else {
		l.checkErrors(false)
	}
	verifyStore(t, storeURL)
}

// TestFailoverSentinel fails a master over through Sentinel.
func TestFailoverSentinel(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		exact       bool
	}{{"wait_replicas", "&wait_replicas=1&wait_timeout=200ms", true}, {"async", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			// Persistence on both, as Redis requires of a master that may
			// restart: one that came back empty would have its replica
			// resync to nothing.
			aof := []string{"appendonly yes", "appendfsync always"}
			m, err := redistest.StartConfig(redistest.Config{Lines: aof})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(m.Stop)
			replica := startReplicaOf(t, m, aof...)
			sen, err := redistest.StartSentinelConfig(m, "tw", redistest.SentinelConfig{DownAfter: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sen.Stop)
			url := "redis+sentinel://" + sen.Addr + "/0?master_name=tw" + tc.query
			tw := tagwaytest.Start(t, binary, "--store", url)
			failover(t, tw, m, func() bool {
				addr, err := sen.Do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "tw")
				return err == nil && strings.Replace(addr, " ", ":", 1) == replica.Addr && replica.IsMaster()
			}, "redis+sentinel://"+sen.Addr+"/0?master_name=tw", tc.exact)
		})
	}
}

// TestFailoverCluster fails over the master of the busiest slot of a
// three-master Cluster with a replica each.
func TestFailoverCluster(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		exact       bool
	}{{"wait_replicas", "&wait_replicas=1&wait_timeout=200ms", true}, {"async", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := redistest.StartClusterConfig(redistest.ClusterConfig{Masters: 3, Replicas: 1, NodeTimeout: time.Second, Lines: []string{"appendonly yes", "appendfsync always"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Stop)
			tw := tagwaytest.Start(t, binary, "--store", c.URL()+tc.query) // c.URL() has a query: addr=...
			// The group the gRPC workers write to; tag once so it has keys.
			mustTagGRPC(t, tw, resourceOf("grpc", 0, 0))
			m, err := c.Master("tagway:{aws:us-east-1:111111111111}:known")
			if err != nil {
				t.Fatal(err)
			}
			failover(t, tw, m, func() bool {
				for _, n := range c.Nodes {
					if n == m {
						continue
					}
					if n.IsMaster() {
						if info, _ := n.Do("CLUSTER", "INFO"); !strings.Contains(info, "cluster_state:ok") {
							return false
						}
					}
				}
				owner, err := c.Master("tagway:{aws:us-east-1:111111111111}:known")
				return err == nil && owner != m
			}, c.URL(), tc.exact)
		})
	}
}

// mustTagGRPC tags res through tw's gRPC port.
func mustTagGRPC(t *testing.T, tw *tagwaytest.Proc, res string) {
	t.Helper()
	resp, err := core(t, tw).TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{res}, Tags: map[string]string{"k0": "v"}})
	if err != nil || len(resp.GetFailedResources()) > 0 {
		t.Fatalf("tag %s: %v %v", res, resp, err)
	}
}
