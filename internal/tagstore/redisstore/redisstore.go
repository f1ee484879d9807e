// Package redisstore is the Redis tag store, for production: tags shared by
// every tagway replica, on a standalone server, behind Sentinel, or on a
// Cluster, through go-redis.
//
// The key schema is in docs/redis-keys.md. In short: the resources of one
// group (arn.Group: a partition, a region, an account) and every index entry
// about them live under one hash tag, so that each change is one Lua script
// on one Cluster slot, and a listing of an account in a region reads one
// group, however many services and types it holds; a registry lists the
// groups.
package redisstore

import (
	"cmp"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// DefaultPrefix starts every key tagway writes.
const DefaultPrefix = "tagway:"

// Defaults of Options.
const (
	// DefaultMaxChangeAge bounds how long after it is sent a change may
	// still be applied when its context has no earlier deadline.
	DefaultMaxChangeAge = 30 * time.Second
)

// Options tune a Store.
type Options struct {
	// Prefix starts every key; DefaultPrefix when empty.
	Prefix string
	// MaxChangeAge bounds how long after it is sent a change may be applied
	// (its deadline is the earlier of its context's and this); 0 means
	// DefaultMaxChangeAge. ForgetEmpty waits twice as long before it forgets
	// a group, so that no change still under way can land in it.
	MaxChangeAge time.Duration
	// Replication asks replicas to confirm each change; Open takes it from
	// the URL.
	Replication Replication
	// KeyLease is how long a registration of a key in a group holds (see
	// GroupsWithKey); 0 means DefaultKeyLease.
	KeyLease time.Duration
	// FeedRetention is how long the change feed keeps events; 0 means
	// DefaultFeedRetention, and a negative value turns the feed off.
	FeedRetention time.Duration
}

// Store is a tagstore.Store on Redis.
type Store struct {
	client       redis.UniversalClient
	prefix       string
	feedChannel  string // the channel apply.lua publishes feed notices on
	maxChangeAge time.Duration
	replication  Replication
	keyLease     time.Duration
	leases       leases

	feedRetention time.Duration // 0: no feed
	notices       notices

	// forgetFrom is where forgetKeys goes on.
	forgetMu   sync.Mutex
	forgetFrom string

	// offset is the server's clock minus ours, in milliseconds, so that
	// deadlines can be judged by the server's clock.
	offset atomic.Int64
	// offsetLow is the least the server's clock can be ahead of ours, in
	// microseconds: FeedNow must never be ahead of the server, or a watch
	// would start after changes applied once it was established.
	offsetLow atomic.Int64
	// clocks are a Cluster's masters' offsets, by address, as last read.
	clocksMu sync.Mutex
	clocks   map[string]clock

	secretMu sync.Mutex
	secret   []byte
}

var _ tagstore.Store = (*Store)(nil)

// New returns a store on client. The store owns the client: Close closes
// it.
func New(client redis.UniversalClient, o Options) *Store {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.MaxChangeAge <= 0 {
		o.MaxChangeAge = DefaultMaxChangeAge
	}
	if o.KeyLease <= 0 {
		o.KeyLease = DefaultKeyLease
	}
	switch {
	case o.FeedRetention == 0:
		o.FeedRetention = DefaultFeedRetention
	case o.FeedRetention < 0:
		o.FeedRetention = 0
	}
	s := &Store{client: client, prefix: o.Prefix, maxChangeAge: o.MaxChangeAge, replication: o.Replication, keyLease: o.KeyLease, leases: leases{ttl: o.KeyLease}, feedRetention: o.FeedRetention, feedChannel: o.Prefix + "feed"}
	return s
}

// Open connects to the Redis named by rawURL and checks that it answers,
// that it is recent enough, and that its keys are of this schema.
//
//	redis://[user:password@]host:port[/db]        a standalone server
//	rediss://...                                  the same over TLS
//	redis+sentinel://[user:password@]host:port[/db]?master_name=NAME[&addr=host:port...]
//	                                              servers found through Sentinel; the
//	                                              userinfo is the servers' credentials,
//	                                              sentinel_username and sentinel_password
//	                                              the Sentinels'
//	redis+cluster://[user:password@]host:port[?addr=host:port...]
//	                                              a Cluster, from any of its nodes
//
// wait_replicas=N (and wait_timeout, 100ms by default) make every change
// wait until N replicas have it (WAIT) before it is acknowledged, so that a
// failover cannot lose an acknowledged change (docs/redis-keys.md).
// The +sentinel and +cluster schemes also take an "s" (rediss+cluster://)
// for TLS. Other query parameters are go-redis options (dial_timeout,
// pool_size, ...). Errors never contain a password.
func Open(ctx context.Context, rawURL string, o Options) (*Store, error) {
	client, rep, err := NewClient(rawURL)
	if err != nil {
		return nil, err
	}
	o.Replication = rep
	fail := func(err error) (*Store, error) {
		client.Close()
		return nil, fmt.Errorf("redis at %s: %s", Redact(rawURL), redactText(err.Error(), rawURL))
	}
	s := New(client, o)
	if err := s.Ping(ctx); err != nil {
		return fail(err)
	}
	info, err := client.Info(ctx, "server").Result()
	if err == nil {
		err = checkVersion(info)
	}
	if err == nil {
		err = s.checkSchema(ctx)
	}
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// SchemaVersion numbers the key schema of docs/redis-keys.md. A store
// records the version that wrote it in <prefix>schema, and tagway refuses a
// store of another version, so that two schemas never mix.
const SchemaVersion = 6

// checkSchema records SchemaVersion in a store that holds nothing yet, and
// refuses a store written with another version; a store with tags but no
// version was written before versions were recorded, with version 1.
func (s *Store) checkSchema(ctx context.Context) error {
	key := s.prefix + "schema"
	v, err := s.client.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		v, err = s.recordSchema(ctx, key)
	}
	if err != nil {
		return err
	}
	if v != strconv.Itoa(SchemaVersion) {
		return fmt.Errorf("the store's keys are in schema version %s (%s), and this tagway reads and writes version %d only; run the tagway release that matches the store, or start on an empty store", v, key, SchemaVersion)
	}
	return nil
}

// recordSchema gives a store without a version SchemaVersion if it holds
// nothing, and returns the version it then has ("1" for tags written before
// versions were recorded: their registry was <prefix>namespaces).
func (s *Store) recordSchema(ctx context.Context, key string) (string, error) {
	// One key per EXISTS: on a Cluster the two live in different slots.
	for _, k := range []string{s.prefix + "namespaces", s.groupsKey()} {
		n, err := s.client.Exists(ctx, k).Result()
		if err != nil || n > 0 {
			return "1", err
		}
	}
	if err := s.client.SetNX(ctx, key, SchemaVersion, 0).Err(); err != nil {
		return "", err
	}
	return s.client.Get(ctx, key).Result()
}

// MinVersion is the oldest Redis tagway runs on: its scripts declare their
// flags in a #!lua line, which Redis 7.0 introduced.
const MinVersion = 7

// checkVersion refuses a server older than MinVersion, from the text of
// INFO server.
func checkVersion(info string) error {
	for _, line := range strings.Split(info, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !ok {
			continue
		}
		major, _, _ := strings.Cut(v, ".")
		if n, err := strconv.Atoi(major); err != nil || n < MinVersion {
			return fmt.Errorf("the server runs Redis %s; tagway needs Redis %d.0 or later", v, MinVersion)
		}
		return nil
	}
	return nil // a proxy that hides the version: the scripts will tell
}

// KeyPrefix returns the prefix of the store's keys (Options.Prefix).
func (s *Store) KeyPrefix() string { return s.prefix }

// groupPrefix returns the prefix of every key of group g, with the group's
// Key as hash tag.
func (s *Store) groupPrefix(g arn.Group) string { return s.prefix + "{" + g.Key() + "}:" }

// The registry of groups, the writers' generation of each group and the
// candidates ForgetEmpty has seen empty share one hash tag, so that
// forgetting a group can check and remove it in one step.
func (s *Store) groupsKey() string { return s.prefix + "{registry}:groups" }
func (s *Store) genKey() string    { return s.prefix + "{registry}:gen" }
func (s *Store) forgetKey() string { return s.prefix + "{registry}:forget" }

// deadline returns the deadline of a change sent now under ctx, in
// milliseconds since the epoch by the server's clock: the earlier of ctx's
// deadline and MaxChangeAge from now.
func (s *Store) deadline(ctx context.Context) int64 {
	d := time.Now().Add(s.maxChangeAge)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return d.UnixMilli() + s.offset.Load()
}

// Ping implements tagstore.Store. It reads the server's clock, which keeps
// the estimate of its offset from ours fresh. On a Cluster it reads every
// master's and keeps the offsets of the one furthest behind: a change is
// judged late, and a watch starts, by the slowest clock, so that neither a
// late change lands nor a watch started now misses a change applied on a
// master whose clock lags. A master that does not answer keeps its last
// reading (forgetting it would let a faster clock judge its changes); one
// that left the Cluster is forgotten. Ping fails only when no master
// answers.
func (s *Store) Ping(ctx context.Context) error {
	c, ok := s.client.(*redis.ClusterClient)
	if !ok {
		k, err := readClock(ctx, s.client)
		if err == nil {
			s.setClock(k)
		}
		return err
	}
	var mu sync.Mutex
	read := map[string]*clock{} // every master; nil for one that did not answer
	answered := false
	var firstErr error
	walkErr := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		k, err := readClock(ctx, n)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			read[n.Options().Addr] = nil
			firstErr = cmp.Or(firstErr, err)
			return nil
		}
		read[n.Options().Addr], answered = &k, true
		return nil
	})
	if !answered {
		if err := cmp.Or(firstErr, walkErr); err != nil {
			return err
		}
		return errors.New("redis cluster: no master known")
	}
	s.clocksMu.Lock()
	defer s.clocksMu.Unlock()
	known := make(map[string]clock, len(read))
	slowest := clock{math.MaxInt64, math.MaxInt64}
	for addr, k := range read {
		if k == nil {
			last, ok := s.clocks[addr]
			if !ok {
				continue
			}
			k = &last
		}
		known[addr] = *k
		slowest = clock{min(slowest.mid, k.mid), min(slowest.low, k.low)}
	}
	s.clocks = known
	s.setClock(slowest)
	return nil
}

// clock is a server's clock offset from ours: the midpoint estimate in
// milliseconds, and in microseconds the least it can be ahead.
type clock struct{ mid, low int64 }

func (s *Store) setClock(k clock) {
	s.offset.Store(k.mid)
	s.offsetLow.Store(k.low)
}

// readClock reads a server's clock with TIME and returns its offset from
// ours.
func readClock(ctx context.Context, c redis.Cmdable) (clock, error) {
	before := time.Now()
	t, err := c.Time(ctx).Result()
	if err != nil {
		return clock{}, err
	}
	after := time.Now()
	// The server read t before we read after: from then on its clock is at
	// least t plus our time since after, whatever delayed the reply.
	return clock{t.UnixMilli() - before.Add(after.Sub(before)/2).UnixMilli(), t.UnixMicro() - after.UnixMicro()}, nil
}

// Secret implements tagstore.Store. The first process to ask creates it.
func (s *Store) Secret(ctx context.Context) ([]byte, error) {
	s.secretMu.Lock()
	defer s.secretMu.Unlock()
	if s.secret != nil {
		return s.secret, nil
	}
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	key := s.prefix + "secret"
	if err := s.client.SetNX(ctx, key, hex.EncodeToString(fresh), 0).Err(); err != nil {
		return nil, err
	}
	stored, err := s.client.Get(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	secret, err := hex.DecodeString(stored)
	if err != nil || len(secret) != 32 {
		return nil, fmt.Errorf("redisstore: %s does not hold 32 hex-encoded bytes", key)
	}
	s.secret = secret
	return secret, nil
}

// Close implements tagstore.Store.
func (s *Store) Close() error {
	s.notices.close()
	return s.client.Close()
}
