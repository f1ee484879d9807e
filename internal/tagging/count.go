package tagging

import (
	"context"

	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// CountResources implements tagwayv1.TaggingServiceServer. Each group is
// counted from its indexes (tagstore.Store.Count); a call counts at most
// groupBudget groups and returns a token for the rest.
func (s *Service) CountResources(ctx context.Context, req *tagwayv1.CountResourcesRequest) (*tagwayv1.CountResourcesResponse, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sc, filters, err := selection(req.GetScopes(), req.GetTagFilters(), req.GetUntaggedOnly())
	if err != nil {
		return nil, err
	}
	query := fingerprint(ctx, req, func(m proto.Message) { m.(*tagwayv1.CountResourcesRequest).PageToken = "" })
	start := ""
	if tok := req.GetPageToken(); tok != "" {
		cursor, err := s.tokens.Decode(tok, query, 1)
		if err != nil {
			return nil, tokenError(err)
		}
		start = cursor[0]
	}
	resp := &tagwayv1.CountResourcesResponse{}
	visited := 0
	var countErr error
	resume, err := s.walk(ctx, sc, start, filterKey(filters), func(g arn.Group, kinds []arn.Kind) bool {
		if visited == groupBudget {
			resp.NextPageToken = s.tokens.Encode(query, g.Key())
			return false
		}
		visited++
		n, err := s.store.Count(ctx, g, tagstore.CountQuery{Kinds: kinds, Filters: filters, UntaggedOnly: req.GetUntaggedOnly()})
		if err != nil {
			countErr = err
			return false
		}
		resp.Count += int64(n)
		return true
	})
	if err == nil {
		err = countErr
	}
	if err != nil {
		return nil, s.storeFailed(ctx, err)
	}
	if resume != "" && resp.NextPageToken == "" {
		resp.NextPageToken = s.tokens.Encode(query, resume)
	}
	return resp, nil
}

// selection checks the scopes and tag filters that ListResources and
// CountResources share, and that untagged_only is not combined with filters.
func selection(in []*tagwayv1.ResourceScope, inFilters []*tagwayv1.TagFilter, untaggedOnly bool) ([]arn.Scope, []tagstore.Filter, error) {
	sc, err := scopes(in)
	if err != nil {
		return nil, nil, err
	}
	filters, err := tagFilters(inFilters)
	if err != nil {
		return nil, nil, err
	}
	if untaggedOnly && len(filters) > 0 {
		return nil, nil, invalid("untagged_only", -1, "cannot be combined with tag_filters")
	}
	return sc, filters, nil
}
