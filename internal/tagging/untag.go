package tagging

import (
	"context"
	"maps"
	"slices"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagstore"
)

// UntagResources implements tagwayv1.TaggingServiceServer.
func (s *Service) UntagResources(ctx context.Context, req *tagwayv1.UntagResourcesRequest) (*tagwayv1.UntagResourcesResponse, error) {
	l, resources, err := s.batch(ctx, req.GetLimits(), req.GetResources())
	if err != nil {
		return nil, err
	}
	keys := req.GetTagKeys()
	if err := count("tag_keys", len(keys), 1, l.maxTags); err != nil {
		return nil, err
	}
	for i, k := range keys {
		if p := keyProblem(k, l, true); p != "" {
			return nil, invalid("tag_keys", i, "%s", p)
		}
	}
	expect := req.GetExpectedValues()
	for _, k := range slices.Sorted(maps.Keys(expect)) {
		if !slices.Contains(keys, k) {
			return nil, invalid("expected_values", -1, "names the key %q, which is not in tag_keys", k)
		}
		if p := valueProblem(expect[k], l); p != "" {
			return nil, invalid("expected_values", -1, "key %q: %s", k, p)
		}
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	changes := make([]tagstore.Change, len(resources))
	for i, r := range resources {
		changes[i] = change(ctx, tagstore.Change{Resource: r, Remove: keys, Expect: expect})
	}
	return &tagwayv1.UntagResourcesResponse{FailedResources: s.apply(ctx, changes)}, nil
}
