package tagging

import (
	"context"
	"slices"

	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// ListTagKeys implements tagwayv1.TaggingServiceServer.
func (s *Service) ListTagKeys(ctx context.Context, req *tagwayv1.ListTagKeysRequest) (*tagwayv1.ListTagKeysResponse, error) {
	items, next, err := s.listDistinct(ctx, req, req.GetScopes(), req.GetPageSize(), req.GetPageToken(),
		func(m proto.Message) {
			r := m.(*tagwayv1.ListTagKeysRequest)
			r.PageSize, r.PageToken = 0, ""
		},
		func(nss []arn.Namespace, from string, limit int) ([][]string, error) {
			return s.store.ScanKeys(ctx, nss, from, limit)
		})
	if err != nil {
		return nil, err
	}
	return &tagwayv1.ListTagKeysResponse{TagKeys: items, NextPageToken: next}, nil
}

// ListTagValues implements tagwayv1.TaggingServiceServer.
func (s *Service) ListTagValues(ctx context.Context, req *tagwayv1.ListTagValuesRequest) (*tagwayv1.ListTagValuesResponse, error) {
	if p := keyProblem(req.GetTagKey(), limits{}, false); p != "" {
		return nil, invalid("tag_key", -1, "%s", p)
	}
	items, next, err := s.listDistinct(ctx, req, req.GetScopes(), req.GetPageSize(), req.GetPageToken(),
		func(m proto.Message) {
			r := m.(*tagwayv1.ListTagValuesRequest)
			r.PageSize, r.PageToken = 0, ""
		},
		func(nss []arn.Namespace, from string, limit int) ([][]string, error) {
			return s.store.ScanValues(ctx, nss, req.GetTagKey(), from, limit)
		})
	if err != nil {
		return nil, err
	}
	return &tagwayv1.ListTagValuesResponse{TagValues: items, NextPageToken: next}, nil
}

// listDistinct pages through the distinct strings that scan finds across
// the selected namespaces.
func (s *Service) listDistinct(ctx context.Context, req proto.Message, rawScopes []*tagwayv1.ResourceScope, rawSize int32, token string,
	clearPaging func(proto.Message), scan func(nss []arn.Namespace, from string, limit int) ([][]string, error),
) ([]string, string, error) {
	size, err := pageSize(rawSize)
	if err != nil {
		return nil, "", err
	}
	sc, err := scopes(rawScopes)
	if err != nil {
		return nil, "", err
	}
	query := fingerprint(ctx, req, clearPaging)
	from := ""
	if token != "" {
		cursor, err := s.tokens.Decode(token, query, 1)
		if err != nil {
			return nil, "", tokenError(err)
		}
		from = cursor[0]
	}
	var nss []arn.Namespace
	if err := s.namespaces(ctx, sc, "", func(ns arn.Namespace) bool { nss = append(nss, ns); return true }); err != nil {
		return nil, "", s.storeFailed(ctx, err)
	}
	page, more, err := mergeDistinct(nss, from, size, scan)
	if err != nil {
		return nil, "", s.storeFailed(ctx, err)
	}
	if !more {
		return page, "", nil
	}
	return page, s.tokens.Encode(query, tagstore.Successor(page[size-1])), nil
}

// mergeDistinct returns the first size distinct strings not less than from
// across namespaces, and whether more follow. It reads up to size+1 strings
// from each namespace: the first size+1 distinct strings of the union are
// all among them. When namespaces share their strings, as tag keys usually
// do, every namespace must be read that far anyway, so a page costs up to
// size+1 strings per namespace in scope.
func mergeDistinct(nss []arn.Namespace, from string, size int, scan func([]arn.Namespace, string, int) ([][]string, error)) ([]string, bool, error) {
	lists, err := scan(nss, from, size+1)
	if err != nil {
		return nil, false, err
	}
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if len(all) > size {
		return all[:size], true, nil
	}
	return all, false, nil
}
