package tagging

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

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
		"", func(gs []arn.Group, q tagstore.StringsQuery) ([]tagstore.StringsResult, error) {
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
		req.GetTagKey(), func(gs []arn.Group, q tagstore.StringsQuery) ([]tagstore.StringsResult, error) {
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

// byKeyIndex marks the page tokens of a key listing that goes through the
// store's list of keys; no group key starts with a NUL.
const byKeyIndex = "\x00keys"

// listDistinct pages through the distinct strings that scan finds in the
// selected groups: keys, or (tagKey set) the values of tagKey, in which case
// only the groups that may hold tagKey are read. When the groups fit one
// batch (as many as the page size allows, see maxBatchStrings) it merges
// them, exactly. Past that, keys are listed from the store's list of keys,
// each checked in a group in scope (listKeysByIndex), still exactly; values
// are merged a batch of groups at a time, a value used in several batches
// being listed once per batch. The page token holds the batch's first group
// (or byKeyIndex) and the next string.
func (s *Service) listDistinct(ctx context.Context, req proto.Message, rawScopes []*tagwayv1.ResourceScope, rawSize int32, token string,
	clearPaging func(proto.Message), tagKey string, scan scanStrings,
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
	if g, ok := strings.CutPrefix(startGroup, byKeyIndex); ok {
		return s.listKeysByIndex(ctx, sc, query, from, g, size)
	}
	if tagKey == "" && token == "" && !s.pinned(ctx, sc) {
		// Keys of groups the scopes do not name one by one: from the list
		// of keys, whatever the number of groups.
		return s.listKeysByIndex(ctx, sc, query, "", "", size)
	}
	maxGroups := min(groupBudget, max(1, maxBatchStrings/(size+1)))
	var batch []arn.Group
	var kinds [][]arn.Kind
	var after string // the first group past the batch
	resume, err := s.walk(ctx, sc, startGroup, tagKey, func(g arn.Group, k []arn.Kind) bool {
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
	if after != "" && tagKey == "" && token == "" {
		// Keys of more named groups than a batch: from the list of keys.
		return s.listKeysByIndex(ctx, sc, query, "", "", size)
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

// listKeysByIndex lists keys from the store's list of keys (every key some
// group may hold), from the key from (and, for it, the group groupFrom),
// keeping each that a group in scope holds for a resource of a selected
// kind. A key costs the groups it takes to find one that holds it, usually
// one; keys are checked keyChecks at a time, at once, so that a page costs
// a few round trips, not one per key; a page stops after groupBudget groups
// checked, its token going on at the key and group where it stopped.
func (s *Service) listKeysByIndex(ctx context.Context, sc []arn.Scope, query []byte, from, groupFrom string, size int) ([]string, string, error) {
	var page []string
	checked := 0
	type check struct {
		found  bool
		resume string
		n      int
		err    error
	}
	for {
		cands, err := s.store.Keys(ctx, from, registryBatch)
		if err != nil {
			return nil, "", s.storeFailed(ctx, err)
		}
		full := len(cands) == registryBatch
		for len(cands) > 0 {
			chunk := cands[:min(keyChecks, len(cands))]
			cands = cands[len(chunk):]
			results := make([]check, len(chunk))
			var wg sync.WaitGroup
			for i, k := range chunk {
				gf := ""
				if k == from {
					gf = groupFrom
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := &results[i]
					r.found, r.resume, r.n, r.err = s.keyInScope(ctx, sc, k, gf, groupBudget/keyChecks)
				}()
			}
			wg.Wait()
			for i, k := range chunk {
				r := results[i]
				checked += r.n
				if r.err != nil {
					return nil, "", s.storeFailed(ctx, r.err)
				}
				if !r.found && r.resume != "" { // out of budget: go on at k, at that group
					return page, s.tokens.Encode(query, byKeyIndex+r.resume, k), nil
				}
				if r.found {
					page = append(page, k)
					if len(page) == size {
						return page, s.tokens.Encode(query, byKeyIndex, tagstore.Successor(k)), nil
					}
				}
				from = tagstore.Successor(k)
			}
			if checked >= groupBudget && len(cands) > 0 {
				return page, s.tokens.Encode(query, byKeyIndex, from), nil
			}
		}
		if !full {
			return page, "", nil
		}
		if checked >= groupBudget {
			return page, s.tokens.Encode(query, byKeyIndex, from), nil
		}
	}
}

// keyChecks is how many keys listKeysByIndex checks at once.
const keyChecks = 16

// keyInScope reports whether a group the scopes and the grant select, from
// groupFrom on, holds key for a resource of a selected kind, checking at
// most budget groups (at least one). When it runs out of budget first,
// resume is the group to go on at. n is the groups checked.
func (s *Service) keyInScope(ctx context.Context, sc []arn.Scope, key, groupFrom string, budget int) (found bool, resume string, n int, err error) {
	budget = max(budget, 1)
	var scanErr error
	walkResume, err := s.walk(ctx, sc, groupFrom, key, func(g arn.Group, kinds []arn.Kind) bool {
		if n == budget {
			resume = g.Key()
			return false
		}
		n++
		rs, err := s.store.ScanKeys(ctx, []arn.Group{g}, tagstore.StringsQuery{Kinds: kinds, From: key, Limit: 1, Budget: stringsBudget})
		if err != nil {
			scanErr = err
			return false
		}
		found = len(rs) == 1 && len(rs[0].Strings) == 1 && rs[0].Strings[0] == key
		return !found
	})
	if err == nil {
		err = scanErr
	}
	if resume == "" && !found {
		resume = walkResume
	}
	return found, resume, n, err
}
