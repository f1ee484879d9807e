package tagging

import (
	"context"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagstore"
)

// GetResourceTags implements tagwayv1.TaggingServiceServer.
func (s *Service) GetResourceTags(ctx context.Context, req *tagwayv1.GetResourceTagsRequest) (*tagwayv1.GetResourceTagsResponse, error) {
	resources, err := names("resources", req.GetResources(), MaxResources)
	if err != nil {
		return nil, err
	}
	found, err := s.store.Get(ctx, resources)
	if err != nil {
		return nil, s.storeFailed(ctx, err)
	}
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
