package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// rangeArgs appends the Ident ranges kinds select in g, as filters.lua's
// readRanges reads them.
func rangeArgs(args []any, g arn.Group, kinds []arn.Kind) []any {
	rs := arn.IdentRanges(g, kinds)
	args = append(args, len(rs))
	for _, r := range rs {
		args = append(args, r.Low, r.High)
	}
	return args
}

func filterArgs(args []any, filters []tagstore.Filter) []any {
	args = append(args, len(filters))
	for _, f := range filters {
		args = append(args, f.Key, len(f.Values))
		for _, v := range f.Values {
			args = append(args, v)
		}
	}
	return args
}

// Get implements tagstore.Store. Placed names take a first round trip, to
// learn their placements.
func (s *Store) Get(ctx context.Context, names []arn.Name) ([]tagstore.Resource, error) {
	places := make([]tagstore.Placement, len(names))
	unknown := make([]bool, len(names))
	placeCmds := make([]*redis.StringCmd, len(names))
	placed := false
	for _, n := range names {
		placed = placed || n.Placed()
	}
	if placed {
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, n := range names {
				if n.Placed() {
					placeCmds[i] = p.HGet(ctx, s.groupPrefix(n.Group("", ""))+"place", n.Ident())
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		for i, c := range placeCmds {
			if c == nil {
				continue
			}
			v, err := c.Result()
			switch {
			case errors.Is(err, redis.Nil):
				unknown[i] = true
				continue
			case err != nil:
				return nil, err
			}
			owner, home, ok := strings.Cut(v, ":")
			if !ok {
				return nil, fmt.Errorf("redisstore: the place of %s is %q, not owner:home", names[i], v)
			}
			places[i] = tagstore.Placement{Owner: owner, Home: home}
		}
	}
	known := make([]*redis.FloatCmd, len(names))
	tags := make([]*redis.MapStringStringCmd, len(names))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			if unknown[i] {
				continue
			}
			gp := s.groupPrefix(places[i].In(n))
			// Known is read first: a resource never becomes unknown, so a
			// resource with tags is known whatever the first reply said.
			known[i] = p.ZScore(ctx, gp+"known", n.Ident())
			tags[i] = p.HGetAll(ctx, gp+"r:"+n.Ident())
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var out []tagstore.Resource
	for i, n := range names {
		if unknown[i] {
			continue
		}
		m, err := tags[i].Result()
		if err != nil {
			return nil, err
		}
		if err := known[i].Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		if len(m) == 0 && known[i].Err() != nil {
			continue
		}
		out = append(out, tagstore.Resource{Name: n.String(), Owner: places[i].Owner, Home: places[i].Home, Tags: tagstore.TagsOf(m)})
	}
	return out, nil
}

// Groups implements tagstore.Store.
func (s *Store) Groups(ctx context.Context, r arn.KeyRange, limit int) ([]arn.Group, error) {
	if limit <= 0 || r.Low >= r.High {
		return nil, nil
	}
	strs, err := s.client.ZRangeByLex(ctx, s.groupsKey(), &redis.ZRangeBy{Min: "[" + r.Low, Max: "(" + r.High, Count: int64(limit)}).Result()
	if err != nil {
		return nil, err
	}
	out := make([]arn.Group, 0, len(strs))
	for _, str := range strs {
		g, err := arn.ParseGroup(str)
		if err != nil {
			return nil, fmt.Errorf("redisstore: the registry %s holds %w", s.groupsKey(), err)
		}
		out = append(out, g)
	}
	return out, nil
}

// placementIn returns the placement of the resource name in g: g's account
// and region, for a name that lacks them.
func placementIn(g arn.Group, name string) tagstore.Placement {
	n, err := arn.Parse(name)
	if err != nil {
		return tagstore.Placement{}
	}
	var p tagstore.Placement
	if n.Account == "" {
		p.Owner = g.Account
	}
	if n.Homed() {
		p.Home = g.Region
	}
	return p
}

// ScanResources implements tagstore.Store.
func (s *Store) ScanResources(ctx context.Context, g arn.Group, q tagstore.ScanQuery) (tagstore.ScanResult, error) {
	var res tagstore.ScanResult
	if q.Limit <= 0 || q.Kinds != nil && len(q.Kinds) == 0 {
		return res, nil
	}
	p := s.groupPrefix(g)
	args := []any{p, q.From, q.Limit, max(q.Budget, 0), flag(q.UntaggedOnly)}
	args = filterArgs(rangeArgs(args, g, q.Kinds), q.Filters)
	reply, err := scanScript.Run(ctx, s.client, []string{p + "known"}, args...).Slice()
	if err != nil {
		return res, err
	}
	if len(reply) < 3 {
		return res, fmt.Errorf("redisstore: short reply from scan script: %v", reply)
	}
	more, _ := reply[0].(int64)
	next, _ := reply[1].(string)
	examined, _ := reply[2].(int64)
	res.More, res.Next, res.Examined = more == 1, next, int(examined)
	for _, item := range reply[3:] {
		pair, ok := item.([]any)
		if !ok || len(pair) != 2 {
			return res, fmt.Errorf("redisstore: malformed scan item %v", item)
		}
		ident, _ := pair[0].(string)
		flat, _ := pair[1].([]any)
		name := g.Name(ident)
		place := placementIn(g, name)
		r := tagstore.Resource{Name: name, Owner: place.Owner, Home: place.Home, Tags: make([]tagstore.Tag, 0, len(flat)/2)}
		for j := 0; j+1 < len(flat); j += 2 {
			k, _ := flat[j].(string)
			v, _ := flat[j+1].(string)
			r.Tags = append(r.Tags, tagstore.Tag{Key: k, Value: v})
		}
		tagstore.SortTags(r.Tags)
		res.Resources = append(res.Resources, r)
	}
	return res, nil
}

// ScanKeys implements tagstore.Store.
func (s *Store) ScanKeys(ctx context.Context, gs []arn.Group, q tagstore.StringsQuery) ([]tagstore.StringsResult, error) {
	return s.scanStrings(ctx, gs, q, func(p string) (string, string) { return p + "keys", p + "k:" })
}

// ScanValues implements tagstore.Store.
func (s *Store) ScanValues(ctx context.Context, gs []arn.Group, key string, q tagstore.StringsQuery) ([]tagstore.StringsResult, error) {
	return s.scanStrings(ctx, gs, q, func(p string) (string, string) {
		return p + "vals:" + key, fmt.Sprintf("%sv:%d:%s", p, len(key), key)
	})
}

// scanStrings reads, for each group, a sorted set of strings (keys or
// values): with ZRANGEBYLEX when every resource counts, else with
// strings.lua, which checks each string against the kinds' ranges in the
// index of the resources carrying it. index returns, from a group's key
// prefix, the set and the prefix of those indexes.
func (s *Store) scanStrings(ctx context.Context, gs []arn.Group, q tagstore.StringsQuery, index func(prefix string) (string, string)) ([]tagstore.StringsResult, error) {
	out := make([]tagstore.StringsResult, len(gs))
	if len(gs) == 0 || q.Limit <= 0 || q.Kinds != nil && len(q.Kinds) == 0 {
		return out, nil
	}
	if q.Kinds == nil {
		cmds := make([]*redis.StringSliceCmd, len(gs))
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, g := range gs {
				set, _ := index(s.groupPrefix(g))
				cmds[i] = p.ZRangeByLex(ctx, set, &redis.ZRangeBy{Min: "[" + q.From, Max: "+", Count: int64(q.Limit)})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for i, c := range cmds {
			if v := c.Val(); len(v) > 0 {
				out[i].Strings = v
			}
		}
		return out, nil
	}
	calls := make([]scriptCall, len(gs))
	for i, g := range gs {
		set, holders := index(s.groupPrefix(g))
		calls[i] = scriptCall{script: stringsScript, keys: []string{set}, args: rangeArgs([]any{holders, q.From, q.Limit, max(q.Budget, 0)}, g, q.Kinds)}
	}
	for i, cmd := range s.runScripts(ctx, calls, nil) {
		reply, err := cmd.Slice()
		if err != nil {
			return nil, err
		}
		if len(reply) < 2 {
			return nil, fmt.Errorf("redisstore: short reply from strings script: %v", reply)
		}
		more, _ := reply[0].(int64)
		next, _ := reply[1].(string)
		out[i].More, out[i].Next = more == 1, next
		for _, v := range reply[2:] {
			str, _ := v.(string)
			out[i].Strings = append(out[i].Strings, str)
		}
	}
	return out, nil
}

// Count implements tagstore.Store.
func (s *Store) Count(ctx context.Context, g arn.Group, q tagstore.CountQuery) (int, error) {
	if q.Kinds != nil && len(q.Kinds) == 0 {
		return 0, nil
	}
	p := s.groupPrefix(g)
	args := filterArgs(rangeArgs([]any{p, flag(q.UntaggedOnly)}, g, q.Kinds), q.Filters)
	n, err := countScript.Run(ctx, s.client, []string{p + "known"}, args...).Int()
	return n, err
}
