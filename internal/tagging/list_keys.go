package tagging

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// ListTagKeys implements tagwayv1.TaggingServiceServer.
func (s *Service) ListTagKeys(ctx context.Context, req *tagwayv1.ListTagKeysRequest) (*tagwayv1.ListTagKeysResponse, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	items, next, err := s.listDistinct(ctx, req, req.GetScopes(), req.GetPageSize(), req.GetPageToken(),
		func(m proto.Message) {
			r := m.(*tagwayv1.ListTagKeysRequest)
			r.PageSize, r.PageToken = 0, ""
		},
		func(gs []arn.Group, q tagstore.StringsQuery) ([]tagstore.StringsResult, error) {
			return s.store.ScanKeys(ctx, gs, q)
		})
	if err != nil {
		return nil, err
	}
	return &tagwayv1.ListTagKeysResponse{TagKeys: items, NextPageToken: next}, nil
}

// ListTagValues implements tagwayv1.TaggingServiceServer.
func (s *Service) ListTagValues(ctx context.Context, req *tagwayv1.ListTagValuesRequest) (*tagwayv1.ListTagValuesResponse, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if p := keyProblem(req.GetTagKey(), limits{}, false); p != "" {
		return nil, invalid("tag_key", -1, "%s", p)
	}
	items, next, err := s.listDistinct(ctx, req, req.GetScopes(), req.GetPageSize(), req.GetPageToken(),
		func(m proto.Message) {
			r := m.(*tagwayv1.ListTagValuesRequest)
			r.PageSize, r.PageToken = 0, ""
		},
		func(gs []arn.Group, q tagstore.StringsQuery) ([]tagstore.StringsResult, error) {
			return s.store.ScanValues(ctx, gs, req.GetTagKey(), q)
		})
	if err != nil {
		return nil, err
	}
	return &tagwayv1.ListTagValuesResponse{TagValues: items, NextPageToken: next}, nil
}

// maxBatchStrings bounds the strings one page reads from the store: a
// batch holds at most maxBatchStrings/(page_size+1) groups.
const maxBatchStrings = 16384

// stringsBudget bounds, per group, the candidates a scan examines when it
// must check each string against kinds.
const stringsBudget = 4096

// scanStrings reads distinct strings of groups.
type scanStrings func([]arn.Group, tagstore.StringsQuery) ([]tagstore.StringsResult, error)

// listDistinct pages through the distinct strings that scan finds in the
// selected groups. It merges a batch of groups at a time (as many as the
// page size allows, see maxBatchStrings), so that a page's work and memory
// are bounded whatever the store holds; the page token holds the batch's
// first group and the next string.
func (s *Service) listDistinct(ctx context.Context, req proto.Message, rawScopes []*tagwayv1.ResourceScope, rawSize int32, token string,
	clearPaging func(proto.Message), scan scanStrings,
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
	startGroup, from := "", ""
	if token != "" {
		cursor, err := s.tokens.Decode(token, query, 2)
		if err != nil {
			return nil, "", tokenError(err)
		}
		startGroup, from = cursor[0], cursor[1]
	}
	maxGroups := min(groupBudget, max(1, maxBatchStrings/(size+1)))
	var batch []arn.Group
	var kinds [][]arn.Kind
	var after string // the first group past the batch
	resume, err := s.walk(ctx, sc, startGroup, func(g arn.Group, k []arn.Kind) bool {
		if len(batch) == maxGroups {
			after = g.Key()
			return false
		}
		batch = append(batch, g)
		kinds = append(kinds, k)
		return true
	})
	if err != nil {
		return nil, "", s.storeFailed(ctx, err)
	}
	if after == "" {
		after = resume
	}
	if len(batch) == 0 {
		if after != "" {
			return nil, s.tokens.Encode(query, after, ""), nil
		}
		return nil, "", nil
	}
	page, next, err := mergeDistinct(batch, kinds, from, size, scan)
	if err != nil {
		return nil, "", s.storeFailed(ctx, err)
	}
	switch {
	case next != "":
		return page, s.tokens.Encode(query, batch[0].Key(), next), nil
	case after != "":
		return page, s.tokens.Encode(query, after, ""), nil
	}
	return page, "", nil
}

// mergeDistinct returns up to size distinct strings not less than from
// across the groups gs (each with its kinds), in ascending order, and the
// string to continue from ("" when the batch is done). It reads up to
// size+1 strings from each group: the first size+1 distinct strings of the
// union are among them, unless a group ran out of budget, in which case the
// page stops short of the string it stopped at.
func mergeDistinct(gs []arn.Group, kinds [][]arn.Kind, from string, size int, scan scanStrings) ([]string, string, error) {
	results := make([]tagstore.StringsResult, len(gs))
	// One store call per distinct kinds: usually one for the whole batch.
	byKinds := map[string][]int{}
	var order []string
	for i, k := range kinds {
		key := fmt.Sprint(k == nil, k)
		if byKinds[key] == nil {
			order = append(order, key)
		}
		byKinds[key] = append(byKinds[key], i)
	}
	for _, key := range order {
		idx := byKinds[key]
		sub := make([]arn.Group, len(idx))
		for j, i := range idx {
			sub[j] = gs[i]
		}
		rs, err := scan(sub, tagstore.StringsQuery{Kinds: kinds[idx[0]], From: from, Limit: size + 1, Budget: stringsBudget})
		if err != nil {
			return nil, "", err
		}
		for j, i := range idx {
			results[i] = rs[j]
		}
	}
	// Strings below bound are complete in every group: a group that stopped
	// short (out of budget, or at its limit) knows nothing past its stop.
	bound, bounded := "", false
	lower := func(b string) {
		if !bounded || b < bound {
			bound, bounded = b, true
		}
	}
	var all []string
	for _, r := range results {
		all = append(all, r.Strings...)
		switch {
		case r.More:
			lower(r.Next)
		case len(r.Strings) == size+1:
			lower(tagstore.Successor(r.Strings[size]))
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if bounded {
		n, _ := slices.BinarySearch(all, bound)
		all = all[:n]
	}
	switch {
	case len(all) > size:
		return all[:size], tagstore.Successor(all[size-1]), nil
	case bounded:
		return all, bound, nil
	}
	return all, "", nil
}
