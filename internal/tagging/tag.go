package tagging

import (
	"context"
	"slices"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagstore"
)

// TagResources implements tagwayv1.TaggingServiceServer.
func (s *Service) TagResources(ctx context.Context, req *tagwayv1.TagResourcesRequest) (*tagwayv1.TagResourcesResponse, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	b, err := s.newBatch(ctx, req.GetLimits(), req.GetResources(), req.GetHomeRegion())
	if err != nil {
		return nil, err
	}
	l, kinds := b.limits, b.kinds
	tags := req.GetTags()
	if err := count("tags", len(tags), 1, l.maxTags); err != nil {
		return nil, err
	}
	// Check keys in order, so the same request always reports the same one,
	// under the rules of each kind of resource named.
	keys := sortedKeys(tags)
	for _, kind := range kinds {
		kl := l.with(kind)
		for _, k := range keys {
			if p := keyProblem(k, kl, true); p != "" {
				return nil, invalid("tags", -1, "%s%s", p, kindNote(kind, kinds))
			}
			if p := valueProblem(tags[k], kl); p != "" {
				return nil, invalid("tags", -1, "key %q: %s%s", k, p, kindNote(kind, kinds))
			}
		}
	}
	changes := make([]tagstore.Change, len(b.targets))
	for i, t := range b.targets {
		kl := l.with(t.kind)
		changes[i] = b.change(ctx, tagstore.Change{Resource: t.name, Set: tags, MaxTags: kl.maxTagsPerResource, ExemptPrefixes: kl.reserved, MaxTotal: MaxTotalTagsPerResource})
	}
	return &tagwayv1.TagResourcesResponse{FailedResources: s.apply(ctx, changes)}, nil
}

// sortedKeys returns the keys of m in order, in one allocation
// (slices.Sorted over maps.Keys grows its slice as it goes).
func sortedKeys(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
