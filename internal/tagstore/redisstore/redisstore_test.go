package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
	"github.com/tagway/tagway/internal/tagstore/storetest"
)

// open opens the store at url, with changes that may land up to 500 ms
// after they are sent, so that ForgetEmpty forgets in a second.
func open(t *testing.T, url string) *redisstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redisstore.Open(ctx, url, redisstore.Options{MaxChangeAge: 500 * time.Millisecond, KeyLease: 200 * time.Millisecond})
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

func mustParse(t testing.TB, s string) arn.Name {
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

// TestClusterSpreadsGroups checks that groups land on different nodes, so a
// Cluster shares the load.
func TestClusterSpreadsGroups(t *testing.T) {
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
	if got, err := m.Do("HGET", "tagway:{aws::}:r:s3::\x1fb", "k"); err != nil || got != "v" {
		t.Fatalf("HGET on the master = %q, %v", got, err)
	}
}

// TestKeySchema pins the key names docs/redis-keys.md describes: every key
// but the schema and the secret carries a hash tag, its group's or the
// registry's.
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
	const (
		ec2    = "tagway:{aws:us-east-1:111111111111}:"
		bucket = "tagway:{aws::}:"
		ownedP = "tagway:{aws::222222222222}:"
		west   = "tagway:{aws:us-west-2:222222222222}:"
	)
	want := map[string]bool{
		"tagway:{registry}:groups":        true,
		"tagway:{registry}:gen":           true,
		"tagway:{registry}:keys":          true,
		"tagway:{registry}:keyst":         true,
		"tagway:{registry}:gk:env":        true,
		"tagway:{registry}:gkt:env":       true,
		"tagway:{registry}:gk:a:b":        true,
		"tagway:{registry}:gkt:a:b":       true,
		"tagway:{registry}:gk:k":          true,
		"tagway:{registry}:gkt:k":         true,
		"tagway:secret":                   true,
		"tagway:schema":                   true,
		ec2 + "r:ec2:ra:instance\x1f/i-1": true,
		ec2 + "known":                     true,
		ec2 + "keys":                      true,
		ec2 + "k:env":                     true,
		ec2 + "k:a:b":                     true,
		ec2 + "vals:env":                  true,
		ec2 + "vals:a:b":                  true,
		ec2 + "v:3:envprod":               true,
		ec2 + "v:3:a:b":                   true,
		ec2 + "feed":                      true,
		bucket + "r:s3::\x1fbucket":       true,
		bucket + "known":                  true,
		bucket + "keys":                   true,
		bucket + "k:env":                  true,
		bucket + "vals:env":               true,
		bucket + "v:3:envdev":             true,
		bucket + "place":                  true,
		bucket + "feed":                   true,
		ownedP + "r:s3::\x1fowned":        true,
		ownedP + "known":                  true,
		ownedP + "keys":                   true,
		ownedP + "k:k":                    true,
		ownedP + "vals:k":                 true,
		ownedP + "v:1:kv":                 true,
		ownedP + "feed":                   true,
		west + "r:s3::\x1fwest":           true,
		west + "known":                    true,
		west + "keys":                     true,
		west + "k:k":                      true,
		west + "vals:k":                   true,
		west + "v:1:kv":                   true,
		west + "feed":                     true,
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
	if got, _ := c.ZRange(context.Background(), "tagway:{registry}:groups", 0, -1).Result(); strings.Join(got, " ") != "aws:: aws::222222222222 aws:us-east-1:111111111111 aws:us-west-2:222222222222" {
		t.Errorf("registry = %q", got)
	}
	if got, _ := c.ZRange(context.Background(), "tagway:{registry}:gk:env", 0, -1).Result(); strings.Join(got, " ") != "aws:: aws:us-east-1:111111111111" {
		t.Errorf("groups with env = %q", got)
	}
	if got, _ := c.ZRange(context.Background(), "tagway:{registry}:keys", 0, -1).Result(); strings.Join(got, " ") != "a:b env k" {
		t.Errorf("keys = %q", got)
	}
	if got, _ := c.HGetAll(context.Background(), "tagway:{aws::}:place").Result(); fmt.Sprint(got) != "map[s3::\x1fbucket:: s3::\x1fowned:222222222222: s3::\x1fwest:222222222222:us-west-2]" {
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
	r, err := s.ScanResources(context.Background(), mustParse(t, "arn:aws:s3:::b1").Group("", ""), tagstore.ScanQuery{Limit: 10})
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
			_, err := redisstore.Open(ctx, tc.url, redisstore.Options{})
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
		s, err := redisstore.Open(context.Background(), srv.URL(), redisstore.Options{})
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

	slot, err := c.Nodes[0].Do("CLUSTER", "KEYSLOT", "tagway:{aws:us-east-1:111111111111}:known")
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
	g := mustParse(t, res).Group("", "")
	for _, q := range []struct {
		query tagstore.ScanQuery
		want  int
	}{
		{tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "k"}}, Limit: 10}, 1},
		{tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "k", Values: []string{"v"}}}, Limit: 10}, 0},
		{tagstore.ScanQuery{Filters: []tagstore.Filter{{Key: "new"}}, Limit: 10}, 0},
		{tagstore.ScanQuery{UntaggedOnly: true, Limit: 10}, 2},
	} {
		r, err := s.ScanResources(ctx, g, q.query)
		if err != nil || len(r.Resources) != q.want || r.Examined != q.want {
			t.Fatalf("scan %+v: %d resources, %d examined, %v; want %d", q.query, len(r.Resources), r.Examined, err, q.want)
		}
	}
	vals, err := s.ScanValues(ctx, []arn.Group{g}, "k", tagstore.StringsQuery{Limit: 10})
	if err != nil || strings.Join(vals[0].Strings, ",") != "other" {
		t.Fatalf("values of k = %v, %v", vals, err)
	}
	keys, _ := s.ScanKeys(ctx, []arn.Group{g}, tagstore.StringsQuery{Limit: 10})
	if strings.Join(keys[0].Strings, ",") != "k" {
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
	_, err := redisstore.Open(ctx, srv.URL(), redisstore.Options{})
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
	if _, err := redisstore.Open(ctx, srv.URL(), redisstore.Options{}); err == nil || !strings.Contains(err.Error(), "schema version 1 ") {
		t.Fatalf("Open on a store of before versions: %v", err)
	}
}

// TestForgetSeesWriters checks the guard against the race ForgetEmpty's
// two looks leave open: a group seen empty, then filled by a writer before
// the step that forgets it. The writer moved the group's generation, so
// the group must stay.
func TestForgetSeesWriters(t *testing.T) {
	srv := redistest.Run(t)
	s := open(t, srv.URL())
	defer s.Close()
	ctx := context.Background()
	res := "arn:aws:ec2:eu-west-1:555555555555:instance/i-1"
	refused := tagstore.Change{Resource: mustParse(t, res), Set: map[string]string{"a": "1", "b": "2"}, MaxTags: 1}
	if err := s.Apply(ctx, []tagstore.Change{refused})[0]; !errors.Is(err, tagstore.ErrTagLimitExceeded) {
		t.Fatal(err)
	}
	g := mustParse(t, res).Group("", "").Key()
	if n, err := s.ForgetEmpty(ctx, 10); err != nil || n != 0 {
		t.Fatalf("the first look forgot %d: %v", n, err)
	}
	time.Sleep(1100 * time.Millisecond) // twice MaxChangeAge
	tag(t, s, res, "a", "1")
	// A stale look that saw the group empty before the writer came.
	if n, err := s.Forget(ctx, []string{g}, []bool{true}); err != nil || n != 0 {
		t.Fatalf("forgot %d groups, one of them just written: %v", n, err)
	}
	if gs, _ := s.Groups(ctx, arn.KeyRange{Low: g, High: g + "\x00"}, 1); len(gs) != 1 {
		t.Fatal("the written group was forgotten")
	}
	// Seen empty, with no writer since, a window apart: forgotten.
	other := "arn:aws:ec2:eu-west-1:666666666666:instance/i-1"
	refused.Resource = mustParse(t, other)
	s.Apply(ctx, []tagstore.Change{refused})
	og := refused.Resource.Group("", "").Key()
	if n, _ := s.Forget(ctx, []string{og}, []bool{true}); n != 0 {
		t.Fatal("forgotten on the first look")
	}
	if n, _ := s.Forget(ctx, []string{og}, []bool{true}); n != 0 {
		t.Fatal("forgotten within the window")
	}
	time.Sleep(1100 * time.Millisecond)
	if n, _ := s.Forget(ctx, []string{og}, []bool{true}); n != 1 {
		t.Fatal("not forgotten a window later")
	}
}

// TestLateChangeNeverLands is the late write: a change sent to a stalled
// server, given up on by its caller, must not take effect when the server
// wakes, even after a later change to the same resource was acknowledged.
func TestLateChangeNeverLands(t *testing.T) {
	srv := redistest.Run(t)
	s := open(t, srv.URL())
	defer s.Close()
	res := "arn:aws:ec2:us-east-1:111111111111:instance/i-1"
	bucket := "arn:aws:s3:::late-bucket"
	tag(t, s, res, "keep", "1")
	// Open a connection per caller first: on a stalled server a new one
	// would never get past its handshake, and nothing would be sent.
	var warm sync.WaitGroup
	for range 8 {
		warm.Add(1)
		go func() {
			defer warm.Done()
			tag(t, s, "arn:aws:ec2:us-east-1:111111111111:instance/i-warm", "k", "v")
		}()
	}
	warm.Wait()
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	late := []tagstore.Change{
		{Resource: mustParse(t, res), Set: map[string]string{"late": "1"}},
		{Resource: mustParse(t, "arn:aws:ec2:us-east-1:111111111111:instance/i-2"), Set: map[string]string{"late": "1"}},
		{Resource: mustParse(t, bucket), Set: map[string]string{"late": "1"}, Owner: "111111111111"},
	}
	// Each change on its own, all at once, as concurrent callers send them.
	var wg sync.WaitGroup
	for i := range late {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Apply(ctx, late[i:i+1])[0]; err == nil {
				t.Errorf("change %d succeeded on a paused server", i)
			}
		}()
	}
	wg.Wait()
	cancel()
	time.Sleep(200 * time.Millisecond)
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	// The owner, told the call failed, removes what it may have set.
	if err := s.Apply(context.Background(), []tagstore.Change{{Resource: mustParse(t, res), Remove: []string{"late"}}})[0]; err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the abandoned scripts have run by now
	rs, err := s.Get(context.Background(), []arn.Name{mustParse(t, res), late[1].Resource, late[2].Resource})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || len(rs[0].Tags) != 1 || rs[0].Tags[0].Key != "keep" {
		t.Fatalf("after the stall: %+v", rs)
	}
	if place, _ := srv.Do("HGET", "tagway:{aws::}:place", "s3::\x1flate-bucket"); place != "" {
		t.Fatalf("a late change claimed the bucket: %q", place)
	}
}

// TestFullStoreStillUntags fills the server past maxmemory (noeviction):
// changes that only remove tags must still apply, so that a full store can
// be emptied; a change that adds is refused with ErrFull.
func TestFullStoreStillUntags(t *testing.T) {
	srv := redistest.Run(t)
	s := open(t, srv.URL())
	defer s.Close()
	big := strings.Repeat("x", 200)
	for i := range 50 {
		tag(t, s, fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%d", i), "a", big, "b", big)
	}
	owned := tagstore.Change{Resource: mustParse(t, "arn:aws:s3:::full"), Set: map[string]string{"a": big}, Owner: "111111111111"}
	if err := s.Apply(context.Background(), []tagstore.Change{owned})[0]; err != nil {
		t.Fatal(err)
	}
	for _, cfg := range [][]string{{"maxmemory-policy", "noeviction"}, {"maxmemory", "1"}} {
		if _, err := srv.Do(append([]string{"CONFIG", "SET"}, cfg...)...); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	errs := s.Apply(ctx, []tagstore.Change{
		{Resource: mustParse(t, "arn:aws:ec2:us-east-1:111111111111:instance/i-1"), Remove: []string{"a", "b"}},
		{Resource: mustParse(t, "arn:aws:ec2:us-east-1:111111111111:instance/i-2"), Set: map[string]string{"c": "1"}},
		{Resource: mustParse(t, "arn:aws:s3:::full"), Remove: []string{"a"}, Owner: "111111111111"},
		{Resource: mustParse(t, "arn:aws:s3:::new"), Set: map[string]string{"a": "1"}, Owner: "111111111111"},
	})
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("untag on a full store: %v, %v", errs[0], errs[2])
	}
	for _, i := range []int{1, 3} {
		if !errors.Is(errs[i], tagstore.ErrFull) {
			t.Fatalf("tag on a full store: %v, want ErrFull", errs[i])
		}
	}
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "0"); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Get(ctx, []arn.Name{mustParse(t, "arn:aws:ec2:us-east-1:111111111111:instance/i-1"), mustParse(t, "arn:aws:ec2:us-east-1:111111111111:instance/i-2"), mustParse(t, "arn:aws:s3:::full")})
	if err != nil || len(rs) != 3 || len(rs[0].Tags) != 0 || len(rs[1].Tags) != 2 || len(rs[2].Tags) != 0 {
		t.Fatalf("after: %+v, %v", rs, err)
	}
	// The indexes followed the removals.
	r, err := s.ScanResources(ctx, mustParse(t, "arn:aws:ec2:us-east-1:111111111111:instance/i-1").Group("", ""), tagstore.ScanQuery{UntaggedOnly: true, Limit: 10})
	if err != nil || len(r.Resources) != 1 {
		t.Fatalf("untagged = %+v, %v", r, err)
	}
}

// TestSentinelPasswords reaches a password-protected master through a
// password-protected Sentinel, in the URL form docs/redis-keys.md gives,
// and checks that errors and Redact show neither password.
func TestSentinelPasswords(t *testing.T) {
	m, err := redistest.StartConfig(redistest.Config{Password: "master-secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	open1 := func(url string) (*redisstore.Store, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return redisstore.Open(ctx, url, redisstore.Options{})
	}
	for _, sentinelPassword := range []string{"", "sentinel-secret"} {
		sen, err := redistest.StartSentinelConfig(m, "tw", redistest.SentinelConfig{Password: sentinelPassword})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sen.Stop)
		url := "redis+sentinel://:master-secret@" + sen.Addr + "/0?master_name=tw"
		if sentinelPassword != "" {
			url += "&sentinel_password=" + sentinelPassword
		}
		s, err := open1(url)
		if err != nil {
			t.Fatalf("%s: %v", redisstore.Redact(url), err)
		}
		tag(t, s, "arn:aws:s3:::b", "k", "v")
		s.Close()
		if got, err := m.Do("HGET", "tagway:{aws::}:r:s3::\x1fb", "k"); err != nil || got != "v" {
			t.Fatalf("HGET on the master = %q, %v", got, err)
		}
		// Wrong passwords: a clear error, with no password in it.
		bad := strings.Replace(url, "master-secret", "wrong-master", 1)
		if sentinelPassword != "" {
			bad = strings.Replace(url, sentinelPassword, "wrong-sentinel", 1)
		}
		_, err = open1(bad + "&max_retries=-1")
		if err == nil {
			t.Fatalf("%s: opened with a wrong password", redisstore.Redact(bad))
		}
		for _, secret := range []string{"master-secret", "wrong-master", "sentinel-secret", "wrong-sentinel"} {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows a password: %v", err)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	for _, url := range []string{
		"redis://u:pw-one@h:1/0",
		"redis+sentinel://:pw-one@h:1/0?master_name=m&sentinel_password=pw-two&password=pw-three",
		"rediss+cluster://h:1?addr=h:2&password=pw-one",
	} {
		got := redisstore.Redact(url)
		if strings.Contains(got, "pw-") {
			t.Errorf("Redact(%q) = %q", url, got)
		}
		if !strings.Contains(got, "xxxxx") {
			t.Errorf("Redact(%q) = %q: no sign of a redacted password", url, got)
		}
	}
}

// TestVerify checks that Verify finds nothing in an exact store, and finds
// a broken index, a left-over key and an unregistered group.
func TestVerify(t *testing.T) {
	srv := redistest.Run(t)
	s := open(t, srv.URL())
	defer s.Close()
	ctx := context.Background()
	tag(t, s, "arn:aws:ec2:us-east-1:111111111111:instance/i-1", "env", "prod", "team", "a")
	tag(t, s, "arn:aws:ec2:us-east-1:111111111111:instance/i-2", "env", "dev")
	tag(t, s, "arn:aws:s3:::b", "gone", "x")
	if err := s.Apply(ctx, []tagstore.Change{{Resource: mustParse(t, "arn:aws:s3:::b"), Remove: []string{"gone"}}})[0]; err != nil {
		t.Fatal(err)
	}
	if problems, err := s.Verify(ctx); err != nil || len(problems) != 0 {
		t.Fatalf("exact store: %q, %v", problems, err)
	}
	g := "tagway:{aws:us-east-1:111111111111}:"
	for _, cmd := range [][]string{
		{"ZREM", g + "k:env", "ec2:ra:instance\x1f/i-2"},
		{"ZADD", g + "v:4:teamzzz", "0", "x"},
		{"ZREM", "tagway:{registry}:groups", "aws::"},
	} {
		if _, err := srv.Do(cmd...); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := s.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(problems, "\n")
	for _, want := range []string{`index "tagway:{aws:us-east-1:111111111111}:k:env"`, `left-over key "tagway:{aws:us-east-1:111111111111}:v:4:teamzzz"`, "aws::: holds 1 resources and is not registered"} {
		if !strings.Contains(text, want) {
			t.Errorf("Verify missed %s:\n%s", want, text)
		}
	}
}

// startReplica starts a replica of m and waits until it is in sync.
func startReplica(t testing.TB, m *redistest.Server) *redistest.Server {
	t.Helper()
	r, err := redistest.StartConfig(redistest.Config{ReplicaOf: m, Password: m.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := r.Do("INFO", "replication")
		if strings.Contains(info, "master_link_status:up") {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica not in sync: %s", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWaitForReplicas checks the wait_replicas option: a change is
// acknowledged once the replica has it, and reported failed (not lost
// silently) when the replica does not confirm in time.
func TestWaitForReplicas(t *testing.T) {
	m := redistest.Run(t)
	r := startReplica(t, m)
	s := open(t, m.URL()+"?wait_replicas=1&wait_timeout=200ms")
	defer s.Close()
	res := "arn:aws:ec2:us-east-1:111111111111:instance/i-1"
	tag(t, s, res, "k", "v")
	if got, err := r.Do("HGET", "tagway:{aws:us-east-1:111111111111}:r:ec2:ra:instance\x1f/i-1", "k"); err != nil || got != "v" {
		t.Fatalf("the replica has %q, %v at the acknowledgement", got, err)
	}
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	defer r.Resume()
	start := time.Now()
	err := s.Apply(context.Background(), []tagstore.Change{{Resource: mustParse(t, res), Set: map[string]string{"k": "w"}}})[0]
	if !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("with the replica stalled: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the wait took %v", d)
	}
	for _, bad := range []string{"?wait_replicas=x", "?wait_replicas=1&wait_timeout=soon"} {
		if _, err := redisstore.Open(context.Background(), m.URL()+bad, redisstore.Options{}); err == nil || !strings.Contains(err.Error(), "wait_") {
			t.Fatalf("%s: %v", bad, err)
		}
	}
}

// BenchmarkWaitForReplicas measures what wait_replicas=1 costs a change,
// against the same change without it, on one replica over loopback.
func BenchmarkWaitForReplicas(b *testing.B) {
	m := redistest.Run(b)
	startReplica(b, m)
	for _, tc := range []struct{ name, query string }{{"async", ""}, {"wait1", "?wait_replicas=1"}} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := redisstore.Open(context.Background(), m.URL()+tc.query, redisstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c := tagstore.Change{Resource: mustParse(b, "arn:aws:ec2:us-east-1:111111111111:instance/i-1"), Set: map[string]string{"k": "v"}}
			for i := 0; b.Loop(); i++ {
				c.Set["k"] = strconv.Itoa(i % 8)
				if err := s.Apply(context.Background(), []tagstore.Change{c})[0]; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestWaitForReplicasCluster checks wait_replicas on a Cluster, where WAIT
// must go to the master of each change's slot.
func TestWaitForReplicasCluster(t *testing.T) {
	c, err := redistest.StartClusterConfig(redistest.ClusterConfig{Masters: 3, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	s := open(t, c.URL()+"&wait_replicas=1")
	defer s.Close()
	for i := range 10 {
		tag(t, s, fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:instance/i-1", i), "k", "v")
	}
	tag(t, s, "arn:aws:s3:::bucket", "k", "v")
}

// TestVerifyCluster runs Verify over every master of a Cluster.
func TestVerifyCluster(t *testing.T) {
	c := redistest.RunCluster(t)
	s := open(t, c.URL())
	defer s.Close()
	for i := range 20 {
		tag(t, s, fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:instance/i-1", i), "k", "v")
	}
	if problems, err := s.Verify(context.Background()); err != nil || len(problems) != 0 {
		t.Fatalf("%q, %v", problems, err)
	}
	m, err := c.Master("tagway:{aws:us-east-1:000000000007}:known")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Do("ZADD", "tagway:{aws:us-east-1:000000000007}:k:zz", "0", "x"); err != nil {
		t.Fatal(err)
	}
	if problems, _ := s.Verify(context.Background()); len(problems) != 1 || !strings.Contains(problems[0], "left-over key") {
		t.Fatalf("%q", problems)
	}
}

// TestFeed runs the change feed suite on a real server that keeps its data
// in an append-only file, so that it can be killed and restarted under a
// watcher; and on a real Cluster.
func TestFeed(t *testing.T) {
	srv, err := redistest.StartConfig(redistest.Config{Lines: []string{"appendonly yes", "appendfsync always"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	openFeed := func(t *testing.T, url string, retention time.Duration) *redisstore.Store {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := redisstore.Open(ctx, url, redisstore.Options{MaxChangeAge: 500 * time.Millisecond, FeedRetention: retention})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storetest.RunFeed(t, storetest.FeedHarness{
		New: func(t *testing.T, retention time.Duration) tagstore.Store {
			if _, err := srv.Do("FLUSHALL"); err != nil {
				t.Fatal(err)
			}
			return openFeed(t, srv.URL(), retention)
		},
		Another: func(t *testing.T, _ tagstore.Store) tagstore.Store {
			return openFeed(t, srv.URL(), storetest.FeedRetention)
		},
		Restart: func(t *testing.T) {
			srv.Kill()
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
		},
	})
	t.Run("Cluster", func(t *testing.T) {
		c := redistest.RunCluster(t)
		storetest.RunFeed(t, storetest.FeedHarness{
			New: func(t *testing.T, retention time.Duration) tagstore.Store {
				for _, n := range c.Nodes {
					if _, err := n.Do("FLUSHALL"); err != nil {
						t.Fatal(err)
					}
				}
				return openFeed(t, c.URL(), retention)
			},
			Another: func(t *testing.T, _ tagstore.Store) tagstore.Store {
				return openFeed(t, c.URL(), storetest.FeedRetention)
			},
		})
	})
}
