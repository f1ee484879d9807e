package tagging

import (
	"context"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// ListResources implements tagwayv1.TaggingServiceServer. A page ends at
// page_size resources, or earlier once it has examined its budget of
// candidates, groups or registry entries; its token then resumes where it
// stopped.
func (s *Service) ListResources(ctx context.Context, req *tagwayv1.ListResourcesRequest) (*tagwayv1.ListResourcesResponse, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	sc, filters, err := selection(req.GetScopes(), req.GetTagFilters(), req.GetUntaggedOnly())
	if err != nil {
		return nil, err
	}
	maxTags := int(req.GetMaxPageTags())
	if maxTags < 0 {
		return nil, invalid("max_page_tags", -1, "is negative")
	}
	query := fingerprint(ctx, req, func(m proto.Message) {
		r := m.(*tagwayv1.ListResourcesRequest)
		r.PageSize, r.PageToken, r.MaxPageTags = 0, "", 0
	})
	startGroup, startFrom := "", ""
	if tok := req.GetPageToken(); tok != "" {
		cursor, err := s.tokens.Decode(tok, query, 2)
		if err != nil {
			return nil, tokenError(err)
		}
		startGroup, startFrom = cursor[0], cursor[1]
	}

	resp := &tagwayv1.ListResourcesResponse{}
	budget := pageBaseBudget + 10*size
	found := make([]tagstore.Resource, 0, min(size, 64))
	fill := pageFill{maxTags: maxTags, maxBytes: maxPageBytes}
	visited := 0
	var scanErr error
	var pending string // a group to resume at, once the page is full
	resume, err := s.walk(ctx, sc, startGroup, filterKey(filters), func(g arn.Group, kinds []arn.Kind) bool {
		key := g.Key()
		if len(found) == size || budget <= 0 || visited == groupBudget {
			pending = key
			return false
		}
		from := ""
		if key == startGroup {
			from = startFrom
		}
		r, err := s.store.ScanResources(ctx, g, tagstore.ScanQuery{
			Kinds: kinds, Filters: filters, UntaggedOnly: req.GetUntaggedOnly(),
			From: from, Limit: size - len(found), Budget: budget,
		})
		if err != nil {
			scanErr = err
			return false
		}
		if cut := fill.cut(r.Resources, len(found)); cut < len(r.Resources) {
			found = append(found, r.Resources[:cut]...)
			next := from // nothing of this group fit: resume where it began
			if cut > 0 {
				next = tagstore.Successor(identOf(r.Resources[cut-1]))
			}
			resp.NextPageToken = s.tokens.Encode(query, key, next)
			return false
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
	switch {
	case pending != "":
		resp.NextPageToken = s.tokens.Encode(query, pending, "")
	case resume != "" && resp.NextPageToken == "":
		resp.NextPageToken = s.tokens.Encode(query, resume, "")
	}
	resp.Resources = toProto(found)
	return resp, nil
}

// identOf returns the Ident of a resource a store listed.
func identOf(r tagstore.Resource) string {
	n, _ := arn.Parse(r.Name) // stores list only names they were given
	return n.Ident()
}

// maxPageBytes bounds the encoded resources of a ListResources page, well
// under the 4 MiB a gRPC client receives by default: the largest resource
// (a 1024-character name and 100 tags of 128 and 256 characters) encodes in
// under 160 KiB, so a page always has room for one.
const maxPageBytes = 2 << 20

// pageFill tracks what a page holds against its limits.
type pageFill struct {
	tags, bytes       int // tags counted as max_page_tags counts them; encoded size
	maxTags, maxBytes int // 0: no limit
}

// cut returns how many of rs fit in a page that already holds n resources,
// and counts them in. A resource without tags counts as one tag, and a page
// always takes its first resource.
func (f *pageFill) cut(rs []tagstore.Resource, n int) int {
	for i, r := range rs {
		tags, bytes := f.tags+max(1, len(r.Tags)), f.bytes+encodedSize(r)
		if n+i > 0 && (f.maxTags > 0 && tags > f.maxTags || f.maxBytes > 0 && bytes > f.maxBytes) {
			return i
		}
		f.tags, f.bytes = tags, bytes
	}
	return len(rs)
}

// encodedSize returns the size of r in a ListResourcesResponse, as protobuf
// encodes it: field 1 of the response, a ResourceTags of the name (field 1)
// and its tags (field 2, each a Tag of key 1 and value 2, an empty value
// left out).
func encodedSize(r tagstore.Resource) int {
	field := func(n int) int { return 1 + protowire.SizeVarint(uint64(n)) + n }
	size := field(len(r.Name))
	for _, t := range r.Tags {
		tag := field(len(t.Key))
		if t.Value != "" {
			tag += field(len(t.Value))
		}
		size += field(tag)
	}
	return field(size)
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
