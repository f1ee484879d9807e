package tagging

import (
	"context"
	"slices"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// GetResourceTags implements tagwayv1.TaggingServiceServer.
func (s *Service) GetResourceTags(ctx context.Context, req *tagwayv1.GetResourceTagsRequest) (*tagwayv1.GetResourceTagsResponse, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	all, _, _, err := names(ctx, "resources", req.GetResources(), MaxResources)
	if err != nil {
		return nil, err
	}
	if err := arn.CheckField(req.GetHomeRegion()); err != nil {
		return nil, invalid("home_region", -1, "%v", err)
	}
	// A resource the caller may not read is left out, as one never tagged.
	g := grantOf(ctx)
	resources := all[:0]
	placed := map[string]arn.Name{} // names whose owner or home the store holds
	for _, n := range all {
		if g.allowsName(n) {
			resources = append(resources, n)
			if n.Placed() {
				placed[n.String()] = n
			}
		}
	}
	if len(resources) == 0 {
		return &tagwayv1.GetResourceTagsResponse{}, nil
	}
	found, err := s.store.Get(ctx, resources)
	if err != nil {
		return nil, s.storeFailed(ctx, err)
	}
	// Another account's, or living in another region than the call's: left
	// out too.
	home := req.GetHomeRegion()
	found = slices.DeleteFunc(found, func(r tagstore.Resource) bool {
		n, ok := placed[r.Name]
		return ok && (!g.Unrestricted && n.Account == "" && r.Owner != g.Owner ||
			home != "" && n.Homed() && livesIn(n, r.Home) != home)
	})
	return &tagwayv1.GetResourceTagsResponse{Resources: toProto(found)}, nil
}

func toProto(rs []tagstore.Resource) []*tagwayv1.ResourceTags {
	out := make([]*tagwayv1.ResourceTags, len(rs))
	for i, r := range rs {
		tags := make([]*tagwayv1.Tag, len(r.Tags))
		for j, t := range r.Tags {
			tags[j] = &tagwayv1.Tag{Key: t.Key, Value: t.Value}
		}
		out[i] = &tagwayv1.ResourceTags{Resource: r.Name, Tags: tags}
	}
	return out
}
