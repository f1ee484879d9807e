package redisstore_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
	"github.com/tagway/tagway/internal/tagstore/storetest"
)

func open(t *testing.T, url string) *redisstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redisstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the store suite on a real standalone redis-server.
func TestConformance(t *testing.T) {
	srv := redistest.Run(t)
	storetest.Run(t, func(t *testing.T) tagstore.Store {
		if _, err := srv.Do("FLUSHALL"); err != nil {
			t.Fatal(err)
		}
		return open(t, srv.URL())
	})
}

// TestConformanceCluster runs the store suite on a real three-node Redis
// Cluster: a script touching keys of two slots would fail with CROSSSLOT.
func TestConformanceCluster(t *testing.T) {
	c := redistest.RunCluster(t)
	storetest.Run(t, func(t *testing.T) tagstore.Store {
		for _, n := range c.Nodes {
			if _, err := n.Do("FLUSHALL"); err != nil {
				t.Fatal(err)
			}
		}
		return open(t, c.URL())
	})
}

func mustParse(t *testing.T, s string) arn.Name {
	t.Helper()
	n, err := arn.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func tag(t *testing.T, s tagstore.Store, resource string, kv ...string) {
	t.Helper()
	c := tagstore.Change{Resource: mustParse(t, resource), Set: map[string]string{}}
	for i := 0; i < len(kv); i += 2 {
		c.Set[kv[i]] = kv[i+1]
	}
	if err := s.Apply(context.Background(), []tagstore.Change{c})[0]; err != nil {
		t.Fatal(err)
	}
}

// TestClusterSpreadsNamespaces checks that namespaces land on different
// nodes, so a Cluster shares the load.
func TestClusterSpreadsNamespaces(t *testing.T) {
	c := redistest.RunCluster(t)
	s := open(t, c.URL())
	defer s.Close()
	for i := range 30 {
		tag(t, s, fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:instance/i-1", i), "env", "prod")
	}
	busy := 0
	for _, n := range c.Nodes {
		size, err := n.Do("DBSIZE")
		if err != nil {
			t.Fatal(err)
		}
		if size != "0" {
			busy++
		}
	}
	if busy != len(c.Nodes) {
		t.Fatalf("keys on %d of %d nodes", busy, len(c.Nodes))
	}
}

// TestSentinel reaches a server through a real Sentinel.
func TestSentinel(t *testing.T) {
	m := redistest.Run(t)
	sen, err := redistest.StartSentinel(m, "tagway")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sen.Stop)
	s := open(t, "redis+sentinel://"+sen.Addr+"/0?master_name=tagway")
	defer s.Close()
	tag(t, s, "arn:aws:s3:::b", "k", "v")
	if got, err := m.Do("HGET", "tagway:{arn:aws:s3:::}:r:b", "k"); err != nil || got != "v" {
		t.Fatalf("HGET on the master = %q, %v", got, err)
	}
}

// TestKeySchema pins the key names docs/redis-keys.md describes: every key
// but the registry and the secret carries its namespace as hash tag.
func TestKeySchema(t *testing.T) {
	srv := redistest.Run(t)
	s := open(t, srv.URL())
	defer s.Close()
	tag(t, s, "arn:aws:ec2:us-east-1:111111111111:instance/i-1", "env", "prod", "a:b", "")
	tag(t, s, "arn:aws:s3:::bucket", "env", "dev")
	owned := tagstore.Change{Resource: mustParse(t, "arn:aws:s3:::owned"), Set: map[string]string{"k": "v"}, Owner: "222222222222"}
	home := tagstore.Change{Resource: mustParse(t, "arn:aws:s3:::west"), Set: map[string]string{"k": "v"}, Owner: "222222222222", Home: "us-west-2"}
	for _, err := range s.Apply(context.Background(), []tagstore.Change{owned, home}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Secret(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	keys, err := c.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"tagway:namespaces": true,
		"tagway:secret":     true,
		"tagway:schema":     true,
		"tagway:{arn:aws:ec2:us-east-1:111111111111:instance}:r:/i-1":      true,
		"tagway:{arn:aws:ec2:us-east-1:111111111111:instance}:known":       true,
		"tagway:{arn:aws:ec2:us-east-1:111111111111:instance}:keys":        true,
		"tagway:{arn:aws:ec2:us-east-1:111111111111:instance}:k:env":       true,
		"tagway:{arn:aws:ec2:us-east-1:111111111111:instance}:k:a:b":       true,
		"tagway:{arn:aws:ec2:us-east-1:111111111111:instance}:vals:env":    true,
		"tagway:{arn:aws:ec2:us-east-1:111111111111:instance}:vals:a:b":    true,
		"tagway:{arn:aws:ec2:us-east-1:111111111111:instance}:v:3:envprod": true,
		"tagway:{arn:aws:ec2:us-east-1:111111111111:instance}:v:3:a:b":     true,
		"tagway:{arn:aws:s3:::}:r:bucket":                                  true,
		"tagway:{arn:aws:s3:::}:known":                                     true,
		"tagway:{arn:aws:s3:::}:keys":                                      true,
		"tagway:{arn:aws:s3:::}:k:env":                                     true,
		"tagway:{arn:aws:s3:::}:vals:env":                                  true,
		"tagway:{arn:aws:s3:::}:v:3:envdev":                                true,
		"tagway:{arn:aws:s3:::}:place":                                     true,
		"tagway:{arn:aws:s3::222222222222:\x1f}:r:owned":                   true,
		"tagway:{arn:aws:s3::222222222222:\x1f}:known":                     true,
		"tagway:{arn:aws:s3::222222222222:\x1f}:keys":                      true,
		"tagway:{arn:aws:s3::222222222222:\x1f}:k:k":                       true,
		"tagway:{arn:aws:s3::222222222222:\x1f}:vals:k":                    true,
		"tagway:{arn:aws:s3::222222222222:\x1f}:v:1:kv":                    true,
		"tagway:{arn:aws:s3:us-west-2:222222222222:\x1e\x1f}:r:west":       true,
		"tagway:{arn:aws:s3:us-west-2:222222222222:\x1e\x1f}:known":        true,
		"tagway:{arn:aws:s3:us-west-2:222222222222:\x1e\x1f}:keys":         true,
		"tagway:{arn:aws:s3:us-west-2:222222222222:\x1e\x1f}:k:k":          true,
		"tagway:{arn:aws:s3:us-west-2:222222222222:\x1e\x1f}:vals:k":       true,
		"tagway:{arn:aws:s3:us-west-2:222222222222:\x1e\x1f}:v:1:kv":       true,
	}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("unexpected key %q", k)
		}
		delete(want, k)
	}
	for k := range want {
		t.Errorf("missing key %q", k)
	}
	if got, _ := c.ZRange(context.Background(), "tagway:namespaces", 0, -1).Result(); strings.Join(got, " ") != "arn:aws:ec2:us-east-1:111111111111:instance arn:aws:s3::222222222222:\x1f arn:aws:s3::: arn:aws:s3:us-west-2:222222222222:\x1e\x1f" {
		t.Errorf("registry = %q", got)
	}
	if got, _ := c.HGetAll(context.Background(), "tagway:{arn:aws:s3:::}:place").Result(); fmt.Sprint(got) != "map[bucket:: owned:222222222222: west:222222222222:us-west-2]" {
		t.Errorf("places = %q", got)
	}
	if got, _ := c.Get(context.Background(), "tagway:schema").Result(); got != fmt.Sprint(redisstore.SchemaVersion) {
		t.Errorf("schema = %q", got)
	}
}

// TestScriptCacheFlushed checks that changes and scans survive SCRIPT FLUSH
// (a restarted or failed-over server has an empty script cache).
func TestScriptCacheFlushed(t *testing.T) {
	srv := redistest.Run(t)
	s := open(t, srv.URL())
	defer s.Close()
	tag(t, s, "arn:aws:s3:::b1", "k", "v")
	if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	tag(t, s, "arn:aws:s3:::b2", "k", "v")
	if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	r, err := s.ScanResources(context.Background(), mustParse(t, "arn:aws:s3:::b1").Namespace(), tagstore.ScanQuery{Limit: 10})
	if err != nil || len(r.Resources) != 2 {
		t.Fatalf("scan after flush: %+v, %v", r, err)
	}
}

// TestSecretShared checks that two stores on one Redis sign alike.
func TestSecretShared(t *testing.T) {
	srv := redistest.Run(t)
	a, b := open(t, srv.URL()), open(t, srv.URL())
	defer a.Close()
	defer b.Close()
	sa, err := a.Secret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Secret(context.Background())
	if err != nil || string(sa) != string(sb) {
		t.Fatalf("secrets differ: %x %x %v", sa, sb, err)
	}
}

// TestStoreDown checks that a store whose server went away reports errors
// for every change instead of hanging or claiming success.
func TestStoreDown(t *testing.T) {
	srv := redistest.Run(t)
	s := open(t, srv.URL()+"?max_retries=-1&dial_timeout=200ms")
	defer s.Close()
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := tagstore.Change{Resource: mustParse(t, "arn:aws:s3:::b"), Set: map[string]string{"k": "v"}}
	for _, err := range s.Apply(ctx, []tagstore.Change{c, c}) {
		if err == nil {
			t.Fatal("Apply succeeded with the server gone")
		}
	}
	if _, err := s.Get(ctx, []arn.Name{c.Resource}); err == nil {
		t.Fatal("Get succeeded with the server gone")
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded with the server gone")
	}
}

func TestOpenErrors(t *testing.T) {
	cases := []struct{ url, want string }{
		{"memcached://h:1", `scheme "memcached" is not one of`},
		{"redis+sentinel://127.0.0.1:1/0", "master_name is required"},
		{"redis+galaxy://127.0.0.1:1", `scheme "redis+galaxy"`},
		{"redis://127.0.0.1:6379/notanumber", "invalid database number"},
		{"redis://:hunter2@127.0.0.1:1/0?dial_timeout=200ms&max_retries=-1", "connection refused"},
		{"redis://127.0.0.1:1?bogus=1", "unexpected option: bogus"},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := redisstore.Open(ctx, tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks the password: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
	if got := redisstore.Redact("redis://u:secret@h:1/0"); regexp.MustCompile("secret").MatchString(got) {
		t.Fatalf("Redact = %q", got)
	}
}

func BenchmarkStore(b *testing.B) {
	srv := redistest.Run(b)
	storetest.Bench(b, func(b *testing.B) tagstore.Store {
		if _, err := srv.Do("FLUSHALL"); err != nil {
			b.Fatal(err)
		}
		s, err := redisstore.Open(context.Background(), srv.URL())
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

// TestChangeDuringSlotMigration sets the slot of a namespace MIGRATING, as
// a Cluster does while resharding, during which any access to a key that is
// not on the node fails a script. A change must then either complete or
// fail before its first write: never leave the indexes half-updated.
func TestChangeDuringSlotMigration(t *testing.T) {
	c := redistest.RunCluster(t)
	s := open(t, c.URL())
	defer s.Close()
	ctx := context.Background()
	res, other, bare := "arn:aws:ec2:us-east-1:111111111111:instance/i-1", "arn:aws:ec2:us-east-1:111111111111:instance/i-4", "arn:aws:ec2:us-east-1:111111111111:instance/i-9"
	tag(t, s, res, "k", "v")
	tag(t, s, other, "k", "other")
	tag(t, s, bare, "gone", "x")
	if err := s.Apply(ctx, []tagstore.Change{{Resource: mustParse(t, bare), Remove: []string{"gone"}}})[0]; err != nil {
		t.Fatal(err)
	}

	slot, err := c.Nodes[0].Do("CLUSTER", "KEYSLOT", "tagway:{arn:aws:ec2:us-east-1:111111111111:instance}:known")
	if err != nil {
		t.Fatal(err)
	}
	var source, target *redistest.Server
	for _, n := range c.Nodes {
		if keys, _ := n.Do("CLUSTER", "COUNTKEYSINSLOT", slot); keys != "0" {
			source = n
		} else if target == nil {
			target = n
		}
	}
	id := func(n *redistest.Server) string {
		v, err := n.Do("CLUSTER", "MYID")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if _, err := target.Do("CLUSTER", "SETSLOT", slot, "IMPORTING", id(source)); err != nil {
		t.Fatal(err)
	}
	if _, err := source.Do("CLUSTER", "SETSLOT", slot, "MIGRATING", id(target)); err != nil {
		t.Fatal(err)
	}

	// Every key this change touches is on the node; it removes the last
	// member of an index (v:1:kv), which a script must not read afterwards.
	if err := s.Apply(ctx, []tagstore.Change{{Resource: mustParse(t, res), Remove: []string{"k"}}})[0]; err != nil {
		t.Fatalf("untag during migration: %v", err)
	}
	// This change needs keys that do not exist (k:new, ...): it must fail
	// before writing anything.
	if err := s.Apply(ctx, []tagstore.Change{{Resource: mustParse(t, other), Set: map[string]string{"new": "1"}}})[0]; err == nil {
		t.Fatal("a change needing absent keys succeeded during migration")
	}

	for _, n := range []*redistest.Server{source, target} {
		if _, err := n.Do("CLUSTER", "SETSLOT", slot, "STABLE"); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := s.Get(ctx, []arn.Name{mustParse(t, res), mustParse(t, other)})
	if err != nil || len(rs) != 2 || len(rs[0].Tags) != 0 || len(rs[1].Tags) != 1 || rs[1].Tags[0].Value != "other" {
		t.Fatalf("after migration: %+v, %v", rs, err)
	}
	ns := mustParse(t, res).Namespace()
	for _, q := range []struct {
		query tagstore.ScanQuery
		want  int
	}{
		{tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "k"}}, Limit: 10}, 1},
		{tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "k", Values: []string{"v"}}}, Limit: 10}, 0},
		{tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "new"}}, Limit: 10}, 0},
		{tagstore.ScanQuery{UntaggedOnly: true, Limit: 10}, 2},
	} {
		r, err := s.ScanResources(ctx, ns, q.query)
		if err != nil || len(r.Resources) != q.want || r.Examined != q.want {
			t.Fatalf("scan %+v: %d resources, %d examined, %v; want %d", q.query, len(r.Resources), r.Examined, err, q.want)
		}
	}
	vals, err := s.ScanValues(ctx, []arn.Namespace{ns}, "k", "", 10)
	if err != nil || strings.Join(vals[0], ",") != "other" {
		t.Fatalf("values of k = %v, %v", vals, err)
	}
	keys, _ := s.ScanKeys(ctx, []arn.Namespace{ns}, "", 10)
	if strings.Join(keys[0], ",") != "k" {
		t.Fatalf("keys = %v", keys)
	}
}

func TestCheckVersion(t *testing.T) {
	for info, ok := range map[string]bool{
		"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n": true,
		"redis_version:7.2.4\r\n":  true,
		"redis_version:8.0.0\r\n":  true,
		"redis_version:6.2.14\r\n": false,
		"redis_version:5.0.7\r\n":  false,
		"redis_version:x\r\n":      false,
		"# Server\r\n":             true,
	} {
		if err := redisstore.CheckVersion(info); (err == nil) != ok {
			t.Errorf("checkVersion(%q) = %v", info, err)
		}
	}
}

func TestSchemaVersion(t *testing.T) {
	srv := redistest.Run(t)
	if _, err := srv.Do("SET", "tagway:schema", "99"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := redisstore.Open(ctx, srv.URL())
	if err == nil || !strings.Contains(err.Error(), "schema version 99") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Open on a store of another schema: %v", err)
	}
	// A store with tags and no version predates versions: version 1.
	if _, err := srv.Do("DEL", "tagway:schema"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("ZADD", "tagway:namespaces", "0", "arn:aws:s3:::"); err != nil {
		t.Fatal(err)
	}
	if _, err := redisstore.Open(ctx, srv.URL()); err == nil || !strings.Contains(err.Error(), "schema version 1 ") {
		t.Fatalf("Open on a store of before versions: %v", err)
	}
}
