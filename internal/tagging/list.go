package tagging

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// fingerprint identifies a list request without its paging fields, and the
// caller it is made for, so a page token is only accepted with the request,
// and from the caller, that earned it.
func fingerprint(ctx context.Context, req proto.Message, clearPaging func(proto.Message)) []byte {
	c := proto.Clone(req)
	clearPaging(c)
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	return append([]byte(string(req.ProtoReflect().Descriptor().FullName())+"\x00"+grantOf(ctx).Subject+"\x00"), b...)
}

// Work bounds of one list or count call: past them the call ends early,
// with a token to go on, so that no call costs what the store holds.
const (
	// registryBatch is how many groups one registry read returns.
	registryBatch = 512
	// registryBudget bounds the registry entries one call reads, those the
	// scopes or the grant then leave out included.
	registryBudget = 4096
	// groupBudget bounds the groups one call reads resources, counts or
	// strings from.
	groupBudget = 256
)

// walk calls visit with the groups, in key order from the first not less
// than from, that the scopes and the call's grant select, with the kinds of
// resources selected in each (nil: all), until visit returns false or the
// registry budget runs out. With a tag key, it visits only the groups that
// may hold a resource carrying it (tagstore.Store.GroupsWithKey), so that a
// listing by tag costs the groups where the tag is, not every group in
// scope. It returns the key to resume at when the budget ran out, ""
// otherwise.
func (s *Service) walk(ctx context.Context, sc []arn.Scope, from, tagKey string, visit func(arn.Group, []arn.Kind) bool) (string, error) {
	g := grantOf(ctx)
	ranges := arn.GroupRanges(sc)
	if !g.Unrestricted {
		if len(g.Scopes) == 0 {
			return "", nil
		}
		ranges = arn.IntersectRanges(ranges, arn.GroupRanges(g.Scopes))
	}
	budget := registryBudget
	// The first read is small, as most walks stop early (a key found, a
	// page full); each next one doubles, up to registryBatch.
	size := 16
	for _, r := range ranges {
		if r.High <= from {
			continue
		}
		r.Low = max(r.Low, from)
		for {
			var batch []arn.Group
			var err error
			if tagKey != "" {
				batch, err = s.store.GroupsWithKey(ctx, tagKey, r, min(size, budget))
			} else {
				batch, err = s.store.Groups(ctx, r, min(size, budget))
			}
			if err != nil {
				return "", err
			}
			for _, grp := range batch {
				budget--
				kinds := arn.Kinds(sc, grp)
				if !g.Unrestricted {
					kinds = arn.IntersectKinds(kinds, arn.Kinds(g.Scopes, grp))
				}
				if kinds != nil && len(kinds) == 0 {
					continue
				}
				if !visit(grp, kinds) {
					return "", nil
				}
			}
			if len(batch) == 0 {
				break
			}
			r.Low = tagstore.Successor(batch[len(batch)-1].Key())
			if budget == 0 {
				return r.Low, nil
			}
			if len(batch) < size {
				break
			}
			size = min(2*size, registryBatch)
		}
	}
	return "", nil
}

// storeFailed reports a failed store read and returns what the caller
// learns of it: the cause goes to the (rate-limited) log, not to the caller.
func (s *Service) storeFailed(ctx context.Context, err error) error {
	s.failures.Report(ctx, "read", err)
	return errStoreUnavailable
}

// filterKey is the tag key a listing by filters may restrict its groups to:
// every match carries the key of each filter, so the first one will do.
func filterKey(filters []tagstore.Filter) string {
	if len(filters) == 0 {
		return ""
	}
	return filters[0].Key
}

// pinned reports whether the scopes and the call's grant name their groups
// one by one (partitions, regions and accounts all listed), so that a walk
// reads only those.
func (s *Service) pinned(ctx context.Context, sc []arn.Scope) bool {
	ranges := arn.GroupRanges(sc)
	if g := grantOf(ctx); !g.Unrestricted {
		ranges = arn.IntersectRanges(ranges, arn.GroupRanges(g.Scopes))
	}
	for _, r := range ranges {
		if r.High != r.Low+"\x00" {
			return false
		}
	}
	return true
}
