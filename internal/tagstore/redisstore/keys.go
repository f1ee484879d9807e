package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/arn"
)

// The key index says, for each tag key, which groups may hold a resource
// carrying it (<prefix>{registry}:gk:<key>), and which keys some group may
// hold (<prefix>{registry}:keys), each member scored with the time it was
// last registered. A writer registers (group, key) before a change that
// sets key in group, as it registers the group, but at most once per lease
// (DefaultKeyLease): between, it trusts its registration. Housekeeping
// removes a (group, key) that the group no longer holds only once its
// score is older than the lease plus thrice MaxChangeAge, so that no change
// sent on the strength of that registration can still land, and the group's
// own index, read just before, is the truth (see forgetKeys).

// DefaultKeyLease is how long a writer trusts a registration of a key in a
// group before it registers it again.
const DefaultKeyLease = time.Minute

// The indexes are sorted sets of score 0, read in lexical order; the
// registration times are in hashes beside them.
func (s *Store) keyIndexKey(key string) string { return s.prefix + "{registry}:gk:" + key }
func (s *Store) keyTimesKey(key string) string { return s.prefix + "{registry}:gkt:" + key }
func (s *Store) keysKey() string               { return s.prefix + "{registry}:keys" }
func (s *Store) keyTimesAllKey() string        { return s.prefix + "{registry}:keyst" }

// leases remembers until when each (group, key) registration holds.
type leases struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]int64 // group \x00 key -> Unix ms
}

// maxLeases bounds the leases a store remembers; past it, it forgets them
// all and registers again as it goes.
const maxLeases = 1 << 18

func (l *leases) due(g, k string, now int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[g+"\x00"+k] <= now
}

func (l *leases) renew(pairs [][2]string, now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m)+len(pairs) > maxLeases {
		l.m = map[string]int64{}
	}
	for _, p := range pairs {
		l.m[p[0]+"\x00"+p[1]] = now + l.ttl.Milliseconds()
	}
}

// nowMs returns the server's time in ms, as this store estimates it.
func (s *Store) nowMs() int64 { return time.Now().UnixMilli() + s.offset.Load() }

// registerKeys queues the registration of (group, key) pairs at time now.
func (s *Store) registerKeys(ctx context.Context, p redis.Pipeliner, pairs [][2]string, now int64) []redis.Cmder {
	var cmds []redis.Cmder
	byKey := map[string][]string{}
	var order []string
	for _, pr := range pairs {
		if byKey[pr[1]] == nil {
			order = append(order, pr[1])
		}
		byKey[pr[1]] = append(byKey[pr[1]], pr[0])
	}
	keys := make([]redis.Z, 0, len(order))
	keyTimes := make([]any, 0, 2*len(order))
	for _, k := range order {
		members := make([]redis.Z, len(byKey[k]))
		times := make([]any, 0, 2*len(byKey[k]))
		for i, g := range byKey[k] {
			members[i] = redis.Z{Member: g}
			times = append(times, g, now)
		}
		cmds = append(cmds, p.ZAdd(ctx, s.keyIndexKey(k), members...), p.HSet(ctx, s.keyTimesKey(k), times...))
		keys = append(keys, redis.Z{Member: k})
		keyTimes = append(keyTimes, k, now)
	}
	if len(keys) > 0 {
		cmds = append(cmds, p.ZAdd(ctx, s.keysKey(), keys...), p.HSet(ctx, s.keyTimesAllKey(), keyTimes...))
	}
	return cmds
}

// GroupsWithKey implements tagstore.Store.
func (s *Store) GroupsWithKey(ctx context.Context, key string, r arn.KeyRange, limit int) ([]arn.Group, error) {
	if limit <= 0 || r.Low >= r.High {
		return nil, nil
	}
	strs, err := s.client.ZRangeByLex(ctx, s.keyIndexKey(key), &redis.ZRangeBy{Min: "[" + r.Low, Max: "(" + r.High, Count: int64(limit)}).Result()
	if err != nil {
		return nil, err
	}
	return parseGroups(strs, s.keyIndexKey(key))
}

// Keys implements tagstore.Store.
func (s *Store) Keys(ctx context.Context, from string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.client.ZRangeByLex(ctx, s.keysKey(), &redis.ZRangeBy{Min: "[" + from, Max: "+", Count: int64(limit)}).Result()
}

func parseGroups(strs []string, from string) ([]arn.Group, error) {
	out := make([]arn.Group, 0, len(strs))
	for _, str := range strs {
		g, err := arn.ParseGroup(str)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s holds %w", from, err)
		}
		out = append(out, g)
	}
	return out, nil
}

// forgetKeys removes from the key index the (group, key) pairs whose group
// no longer holds the key, a page of keys at a time from where the last
// call stopped, and returns how many it removed.
func (s *Store) forgetKeys(ctx context.Context, pages int) (int, error) {
	removed := 0
	for range pages {
		s.forgetMu.Lock()
		from := s.forgetFrom
		s.forgetMu.Unlock()
		keys, err := s.Keys(ctx, from, forgetPage/8)
		if err != nil {
			return removed, err
		}
		next := ""
		if len(keys) == forgetPage/8 {
			next = keys[len(keys)-1] + "\x00"
		}
		n, err := s.forgetKeysOf(ctx, keys)
		removed += n
		if err != nil {
			return removed, err
		}
		s.forgetMu.Lock()
		s.forgetFrom = next
		s.forgetMu.Unlock()
		if next == "" {
			return removed, nil
		}
	}
	return removed, nil
}

func (s *Store) forgetKeysOf(ctx context.Context, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	members := make([]*redis.StringSliceCmd, len(keys))
	if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			members[i] = p.ZRange(ctx, s.keyIndexKey(k), 0, 8*forgetPage)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	type pair struct{ group, key string }
	var pairs []pair
	var held []*redis.IntCmd
	looked := s.nowMs()
	if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			for _, g := range members[i].Val() {
				pairs = append(pairs, pair{g, k})
				held = append(held, p.Exists(ctx, s.prefix+"{"+g+"}:k:"+k))
			}
		}
		return nil
	}); err != nil {
		return 0, err
	}
	args := []any{looked, s.maxChangeAge.Milliseconds(), s.keyLease.Milliseconds()}
	var keysArgs []string
	for _, k := range keys {
		keysArgs = append(keysArgs, k)
	}
	args = append(args, len(keysArgs))
	for _, k := range keysArgs {
		args = append(args, k)
	}
	for i, p := range pairs {
		if held[i].Val() == 0 {
			args = append(args, p.key, p.group)
		}
	}
	n, err := s.run(ctx, forgetKeysScript, []string{s.keysKey(), s.keyTimesAllKey()}, append([]any{s.prefix + "{registry}:"}, args...)...).Int()
	return n, storeErr(err)
}
