package tagging

import (
	"context"
	"slices"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/rules"
	"github.com/tagway/tagway/internal/tagstore"
)

// UntagResources implements tagwayv1.TaggingServiceServer.
func (s *Service) UntagResources(ctx context.Context, req *tagwayv1.UntagResourcesRequest) (*tagwayv1.UntagResourcesResponse, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	b, err := s.newBatch(ctx, req.GetLimits(), req.GetResources(), req.GetHomeRegion())
	if err != nil {
		return nil, err
	}
	l, kinds := b.limits, b.kinds
	keys := req.GetTagKeys()
	if err := count("tag_keys", len(keys), 1, l.maxTags); err != nil {
		return nil, err
	}
	expect := req.GetExpectedValues()
	for _, kind := range kinds {
		// Keys being removed are not held to a character rule: whatever a
		// client can list, it can remove.
		kl := l.with(kind)
		kl.chars = rules.AnyChars
		for i, k := range keys {
			if p := keyProblem(k, kl, true); p != "" {
				return nil, invalid("tag_keys", i, "%s%s", p, kindNote(kind, kinds))
			}
		}
		for _, k := range sortedKeys(expect) {
			if !slices.Contains(keys, k) {
				return nil, invalid("expected_values", -1, "names the key %q, which is not in tag_keys", k)
			}
			if p := valueProblem(expect[k], kl); p != "" {
				return nil, invalid("expected_values", -1, "key %q: %s%s", k, p, kindNote(kind, kinds))
			}
		}
	}
	keys = slices.Clone(keys) // the request's own slice is not ours to sort
	slices.Sort(keys)
	keys = slices.Compact(keys)
	changes := make([]tagstore.Change, len(b.targets))
	for i, t := range b.targets {
		changes[i] = b.change(ctx, tagstore.Change{Resource: t.name, Remove: keys, Expect: expect})
	}
	return &tagwayv1.UntagResourcesResponse{FailedResources: s.apply(ctx, changes)}, nil
}
