package tagging

import (
	"context"

	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// ListResources implements tagwayv1.TaggingServiceServer. A page ends at
// page_size resources, or earlier once it has examined its budget of
// candidates or namespaces; its token then resumes where it stopped.
func (s *Service) ListResources(ctx context.Context, req *tagwayv1.ListResourcesRequest) (*tagwayv1.ListResourcesResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	sc, err := scopes(req.GetScopes())
	if err != nil {
		return nil, err
	}
	filters, err := tagFilters(req.GetTagFilters())
	if err != nil {
		return nil, err
	}
	if req.GetUntaggedOnly() && len(filters) > 0 {
		return nil, invalid("untagged_only", -1, "cannot be combined with tag_filters")
	}
	maxTags := int(req.GetMaxPageTags())
	if maxTags < 0 {
		return nil, invalid("max_page_tags", -1, "is negative")
	}
	query := fingerprint(ctx, req, func(m proto.Message) {
		r := m.(*tagwayv1.ListResourcesRequest)
		r.PageSize, r.PageToken, r.MaxPageTags = 0, "", 0
	})
	startNS, startFrom := "", ""
	if tok := req.GetPageToken(); tok != "" {
		cursor, err := s.tokens.Decode(tok, query, 2)
		if err != nil {
			return nil, tokenError(err)
		}
		startNS, startFrom = cursor[0], cursor[1]
	}

	resp := &tagwayv1.ListResourcesResponse{}
	budget := pageBaseBudget + 10*size
	found := make([]tagstore.Resource, 0, min(size, 64))
	tags := 0 // counted as max_page_tags counts them
	visited := 0
	var scanErr error
	var pending string // a namespace to resume at, once the page is full
	err = s.namespaces(ctx, sc, startNS, func(ns arn.Namespace) bool {
		key := ns.Key()
		if len(found) == size || budget <= 0 || visited == pageNamespaceBudget {
			pending = key
			return false
		}
		from := ""
		if key == startNS {
			from = startFrom
		}
		r, err := s.store.ScanResources(ctx, ns, tagstore.ScanQuery{
			Filters: filters, UntaggedOnly: req.GetUntaggedOnly(),
			From: from, Limit: size - len(found), Budget: budget,
		})
		if err != nil {
			scanErr = err
			return false
		}
		if cut := tagCut(r.Resources, len(found), tags, maxTags); cut < len(r.Resources) {
			found = append(found, r.Resources[:cut]...)
			next := from // nothing of this namespace fit: resume where it began
			if cut > 0 {
				next = tagstore.Successor(r.Resources[cut-1].Name[len(ns.String()):])
			}
			resp.NextPageToken = s.tokens.Encode(query, key, next)
			return false
		}
		for _, res := range r.Resources {
			tags += max(1, len(res.Tags))
		}
		found = append(found, r.Resources...)
		budget -= r.Examined
		visited++
		if r.More {
			resp.NextPageToken = s.tokens.Encode(query, key, r.Next)
			return false
		}
		return true
	})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return nil, s.storeFailed(ctx, err)
	}
	if pending != "" {
		resp.NextPageToken = s.tokens.Encode(query, pending, "")
	}
	resp.Resources = toProto(found)
	return resp, nil
}

// tagCut returns how many of rs fit in a page that already holds n
// resources carrying tags tags, under maxTags (0: no limit). A resource
// without tags counts as one, and a page always takes its first resource.
func tagCut(rs []tagstore.Resource, n, tags, maxTags int) int {
	if maxTags == 0 {
		return len(rs)
	}
	for i, r := range rs {
		tags += max(1, len(r.Tags))
		if tags > maxTags && n+i > 0 {
			return i
		}
	}
	return len(rs)
}

// tagFilters converts and checks tag filters.
func tagFilters(raw []*tagwayv1.TagFilter) ([]tagstore.Filter, error) {
	if len(raw) > MaxFilters {
		return nil, invalid("tag_filters", -1, "has %d items, at most %d are allowed", len(raw), MaxFilters)
	}
	read := limits{maxValueLength: MaxValueLength}
	out := make([]tagstore.Filter, len(raw))
	for i, f := range raw {
		if p := keyProblem(f.GetKey(), read, false); p != "" {
			return nil, invalid("tag_filters", i, "%s", p)
		}
		if n := len(f.GetValues()); n > MaxFilterValues {
			return nil, invalid("tag_filters", i, "has %d values, at most %d are allowed", n, MaxFilterValues)
		}
		for _, v := range f.GetValues() {
			if p := valueProblem(v, read); p != "" {
				return nil, invalid("tag_filters", i, "%s", p)
			}
		}
		out[i] = tagstore.Filter{Key: f.GetKey(), Values: f.GetValues()}
	}
	return out, nil
}
