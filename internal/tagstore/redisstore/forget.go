package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/arn"
)

// forgetPage is how many groups ForgetEmpty examines per round trip.
const forgetPage = 500

// ForgetEmpty implements tagstore.Store. It walks the registry a page at a
// time, asks each group whether it holds a known resource, and hands the
// answers to forget.lua, which forgets a group seen empty twice, at least
// twice MaxChangeAge apart, with no writer in between. A group is never
// forgotten on one look, so a call must be repeated (tagway calls it about
// every MaxChangeAge) for the empty groups to go.
func (s *Store) ForgetEmpty(ctx context.Context, limit int) (int, error) {
	forgot, err := s.forgetGroups(ctx, limit)
	if err != nil {
		return forgot, err
	}
	n, err := s.forgetKeys(ctx, 16)
	return forgot + n, err
}

// forgetGroups forgets empty groups (see ForgetEmpty).
func (s *Store) forgetGroups(ctx context.Context, limit int) (int, error) {
	forgot, from := 0, ""
	for forgot < limit {
		groups, err := s.Groups(ctx, arn.KeyRange{Low: from, High: arn.AllGroups.High}, forgetPage)
		if err != nil {
			return forgot, err
		}
		if len(groups) == 0 {
			return forgot, nil
		}
		cards := make([]*redis.IntCmd, len(groups))
		_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, g := range groups {
				cards[i] = p.Exists(ctx, s.groupPrefix(g)+"known")
			}
			return nil
		})
		if err != nil {
			return forgot, err
		}
		keys := make([]string, len(groups))
		empty := make([]bool, len(groups))
		for i, g := range groups {
			keys[i], empty[i] = g.Key(), cards[i].Val() == 0
		}
		n, err := s.forget(ctx, keys, empty)
		if err != nil {
			return forgot, err
		}
		forgot += n
		if len(groups) < forgetPage {
			return forgot, nil
		}
		from = groups[len(groups)-1].Key() + "\x00"
	}
	return forgot, nil
}

// run runs one script, with EVAL when the server does not have it cached.
func (s *Store) run(ctx context.Context, sc *redis.Script, keys []string, args ...any) *redis.Cmd {
	return s.runScripts(ctx, []scriptCall{{script: sc, keys: keys, args: args}}, nil)[0]
}

// forget runs forget.lua on groups (by Key), each just seen empty or not.
func (s *Store) forget(ctx context.Context, groups []string, empty []bool) (int, error) {
	args := []any{2 * s.maxChangeAge.Milliseconds(), len(groups)}
	for i, g := range groups {
		args = append(args, g, flag(empty[i]))
	}
	n, err := s.run(ctx, forgetScript, []string{s.groupsKey(), s.genKey(), s.forgetKey()}, args...).Int()
	return n, storeErr(err)
}
