package tagging

import (
	"context"
	"maps"
	"slices"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagstore"
)

// TagResources implements tagwayv1.TaggingServiceServer.
func (s *Service) TagResources(ctx context.Context, req *tagwayv1.TagResourcesRequest) (*tagwayv1.TagResourcesResponse, error) {
	l, resources, err := s.batch(ctx, req.GetLimits(), req.GetResources())
	if err != nil {
		return nil, err
	}
	tags := req.GetTags()
	if err := count("tags", len(tags), 1, l.maxTags); err != nil {
		return nil, err
	}
	// Check keys in order, so the same request always reports the same one.
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if p := keyProblem(k, l, true); p != "" {
			return nil, invalid("tags", -1, "%s", p)
		}
		if p := valueProblem(tags[k], l); p != "" {
			return nil, invalid("tags", -1, "key %q: %s", k, p)
		}
	}
	changes := make([]tagstore.Change, len(resources))
	for i, r := range resources {
		changes[i] = change(ctx, tagstore.Change{Resource: r, Set: tags, MaxTags: l.maxTagsPerResource, ExemptPrefixes: l.reserved, MaxTotal: MaxTotalTagsPerResource})
	}
	return &tagwayv1.TagResourcesResponse{FailedResources: s.apply(ctx, changes)}, nil
}
