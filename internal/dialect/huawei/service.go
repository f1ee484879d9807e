package huawei

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	huaweiv1 "github.com/tagway/tagway/gen/go/tagway/huawei/v1"
	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
)

// The API's limits per call, handed to the core as data; the rules of
// Organizations resources (20 tags, values of 255 characters, _sys_, the
// character set, id grammar) are the core's own, in package rules,
// whichever surface writes.
var limits = &tagwayv1.Limits{
	MaxResources: 1,
	MaxTags:      20,
}

const (
	defaultTagLimit      = 200
	maxTagLimit          = 2000
	defaultInstanceLimit = 1000
	maxInstanceLimit     = 1000
	maxFilterKeys        = 10
	maxFilterValues      = 10
	listPageSize         = 1000
	maxValueLength       = 255
)

// service implements huaweiv1.OrganizationsServiceServer on the core.
type service struct {
	huaweiv1.UnimplementedOrganizationsServiceServer
	core tagwayv1.TaggingServiceServer
}

// needBody refuses a mutating call that came without a body.
func needBody(ctx context.Context) error {
	if len(bytes.TrimSpace(callOf(ctx).body)) == 0 {
		return malformed("the request body is missing")
	}
	return nil
}

func (s *service) TagResource(ctx context.Context, req *huaweiv1.TagResourceRequest) (*huaweiv1.TagResourceResponse, error) {
	name, err := resolveID(domainOf(ctx), req.GetResourceId())
	if err != nil {
		return nil, err
	}
	return &huaweiv1.TagResourceResponse{}, s.tag(ctx, name, req.GetTags())
}

func (s *service) CreateTagResource(ctx context.Context, req *huaweiv1.CreateTagResourceRequest) (*huaweiv1.CreateTagResourceResponse, error) {
	name, err := resolveTyped(domainOf(ctx), req.GetResourceType(), req.GetResourceId())
	if err != nil {
		return nil, err
	}
	return &huaweiv1.CreateTagResourceResponse{}, s.tag(ctx, name, req.GetTags())
}

func (s *service) tag(ctx context.Context, name string, tags []*huaweiv1.TagDto) error {
	if err := needBody(ctx); err != nil {
		return err
	}
	if err := missingValues(callOf(ctx).body); err != nil {
		return err
	}
	m := make(map[string]string, len(tags))
	for i, t := range tags {
		if _, dup := m[t.GetKey()]; dup {
			return invalid("tags[%d]: the key %q is given twice", i, t.GetKey())
		}
		m[t.GetKey()] = t.GetValue()
	}
	resp, err := s.core.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: []string{name}, Tags: m, Limits: limits})
	if err != nil {
		return err
	}
	return failure(resp.GetFailedResources()[name])
}

func (s *service) UntagResource(ctx context.Context, req *huaweiv1.UntagResourceRequest) (*huaweiv1.UntagResourceResponse, error) {
	if err := needBody(ctx); err != nil {
		return nil, err
	}
	name, aerr := resolveID(domainOf(ctx), req.GetResourceId())
	if aerr != nil {
		return nil, aerr
	}
	return &huaweiv1.UntagResourceResponse{}, s.untag(ctx, name, req.GetTagKeys(), nil)
}

func (s *service) DeleteTagResource(ctx context.Context, req *huaweiv1.DeleteTagResourceRequest) (*huaweiv1.DeleteTagResourceResponse, error) {
	if err := needBody(ctx); err != nil {
		return nil, err
	}
	name, aerr := resolveTyped(domainOf(ctx), req.GetResourceType(), req.GetResourceId())
	if aerr != nil {
		return nil, aerr
	}
	keys := make([]string, len(req.GetTags()))
	expect := map[string]string{}
	for i, t := range req.GetTags() {
		if slices.Contains(keys[:i], t.GetKey()) {
			return nil, invalid("tags[%d]: the key %q is given twice", i, t.GetKey())
		}
		keys[i] = t.GetKey()
		if t.GetValue() != "" {
			expect[t.GetKey()] = t.GetValue()
		}
	}
	return &huaweiv1.DeleteTagResourceResponse{}, renamed(s.untag(ctx, name, keys, expect), "tag_keys", "tags")
}

func (s *service) untag(ctx context.Context, name string, keys []string, expect map[string]string) error {
	resp, err := s.core.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{name}, TagKeys: keys, ExpectedValues: expect, Limits: limits})
	if err != nil {
		return err
	}
	return failure(resp.GetFailedResources()[name])
}

// missingValues refuses a tag without a value, or whose value is JSON null:
// the reference marks it mandatory (protojson would read either as "").
func missingValues(body []byte) error {
	var b struct {
		Tags []map[string]json.RawMessage `json:"tags"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil // the gateway has decoded the body already; not this shape
	}
	for i, t := range b.Tags {
		switch v, ok := t["value"]; {
		case !ok:
			return invalid("tags[%d]: the value is missing; use \"\" for an empty value", i)
		case string(v) == "null":
			return invalid("tags[%d]: the value is null; use \"\" for an empty value", i)
		}
	}
	return nil
}

// failure maps the core's report on the one resource of a call to an error.
func failure(f *tagwayv1.ResourceFailure) error {
	switch f.GetReason() {
	case tagwayv1.FailureReason_FAILURE_REASON_UNSPECIFIED:
		return nil
	case tagwayv1.FailureReason_FAILURE_REASON_TAG_LIMIT_EXCEEDED:
		return &apiError{Status: http.StatusBadRequest, Code: CodeTagLimit, Message: "tags: " + f.GetMessage() + " (a root, OU, account or policy has at most 20 tags)"}
	case tagwayv1.FailureReason_FAILURE_REASON_PERMISSION_DENIED:
		return &apiError{Status: http.StatusForbidden, Code: CodeDenied, Message: f.GetMessage()}
	case tagwayv1.FailureReason_FAILURE_REASON_DENIED_BY_POLICY:
		return &apiError{Status: http.StatusForbidden, Code: CodeDenied, Message: "Policy doesn't allow this to be performed: " + f.GetMessage()}
	case tagwayv1.FailureReason_FAILURE_REASON_STORE_FULL:
		return &apiError{Status: http.StatusInsufficientStorage, Code: CodeStoreFull, Message: f.GetMessage()}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: CodeStoreUnavailable, Message: "the tag store is unavailable; the change may not have been applied, and retrying it is safe"}
}

func (s *service) ListTagsForResource(ctx context.Context, req *huaweiv1.ListTagsForResourceRequest) (*huaweiv1.ListTagsForResourceResponse, error) {
	name, aerr := resolveID(domainOf(ctx), req.GetResourceId())
	if aerr != nil {
		return nil, aerr
	}
	tags, info, err := s.listTags(ctx, name, req.Limit, req.GetMarker())
	if err != nil {
		return nil, err
	}
	return &huaweiv1.ListTagsForResourceResponse{Tags: tags, PageInfo: info}, nil
}

func (s *service) ListTagResources(ctx context.Context, req *huaweiv1.ListTagResourcesRequest) (*huaweiv1.ListTagResourcesResponse, error) {
	var name string
	var aerr *apiError
	if req.GetResourceType() == "resources" {
		// GET /v1/organizations/resources/{id}/tags is ListTagsForResource,
		// which this route shadows in the gateway; the answer is the same.
		name, aerr = resolveID(domainOf(ctx), req.GetResourceId())
	} else {
		name, aerr = resolveTyped(domainOf(ctx), req.GetResourceType(), req.GetResourceId())
	}
	if aerr != nil {
		return nil, aerr
	}
	tags, info, err := s.listTags(ctx, name, req.Limit, req.GetMarker())
	if err != nil {
		return nil, err
	}
	return &huaweiv1.ListTagResourcesResponse{Tags: tags, PageInfo: info}, nil
}

// listTags pages through one resource's tags in key order.
func (s *service) listTags(ctx context.Context, name string, limit *int32, marker string) ([]*huaweiv1.TagDto, *huaweiv1.PageInfoDto, error) {
	n := defaultTagLimit
	if limit != nil {
		if n = int(*limit); n < 1 || n > maxTagLimit {
			return nil, nil, invalid("limit: is %d; it must be between 1 and %d", n, maxTagLimit)
		}
	}
	resp, err := s.core.GetResourceTags(ctx, &tagwayv1.GetResourceTagsRequest{Resources: []string{name}})
	if err != nil {
		return nil, nil, err
	}
	var all []*tagwayv1.Tag
	for _, r := range resp.GetResources() {
		all = r.GetTags() // in ascending order of key
	}
	start := 0
	if marker != "" {
		keys := make([]string, len(all))
		for i, t := range all {
			keys[i] = t.GetKey()
		}
		var aerr *apiError
		if start, aerr = resume(keys, marker); aerr != nil {
			return nil, nil, aerr
		}
	}
	var tags []*huaweiv1.TagDto // sent as [] when empty
	info := &huaweiv1.PageInfoDto{}
	for _, t := range all[start:] {
		if len(tags) == n {
			next := markerAfter(tags[n-1].GetKey())
			info.NextMarker = &next
			break
		}
		tags = append(tags, &huaweiv1.TagDto{Key: t.GetKey(), Value: t.GetValue()})
	}
	info.CurrentCount = int32(len(tags))
	return tags, info, nil
}

func (s *service) ListResourceTags(ctx context.Context, req *huaweiv1.ListResourceTagsRequest) (*huaweiv1.ListResourceTagsResponse, error) {
	k, aerr := kindOfPath(req.GetResourceType())
	if aerr != nil {
		return nil, aerr
	}
	out := &huaweiv1.ListResourceTagsResponse{}
	keysReq := &tagwayv1.ListTagKeysRequest{Scopes: scope(domainOf(ctx), k), PageSize: listPageSize}
	for {
		keys, err := s.core.ListTagKeys(ctx, keysReq)
		if err != nil {
			return nil, err
		}
		for _, key := range keys.GetTagKeys() {
			dto := &huaweiv1.TagsDto{Key: key}
			valuesReq := &tagwayv1.ListTagValuesRequest{Scopes: scope(domainOf(ctx), k), TagKey: key, PageSize: listPageSize}
			for {
				values, err := s.core.ListTagValues(ctx, valuesReq)
				if err != nil {
					return nil, err
				}
				dto.Values = append(dto.Values, values.GetTagValues()...)
				if valuesReq.PageToken = values.GetNextPageToken(); valuesReq.PageToken == "" {
					break
				}
			}
			out.Tags = append(out.Tags, dto)
		}
		if keysReq.PageToken = keys.GetNextPageToken(); keysReq.PageToken == "" {
			return out, nil
		}
	}
}

func (s *service) ListResourceInstances(ctx context.Context, req *huaweiv1.ListResourceInstancesRequest) (*huaweiv1.ListResourceInstancesResponse, error) {
	limit := defaultInstanceLimit
	if req.Limit != nil {
		if limit = int(req.GetLimit()); limit < 1 || limit > maxInstanceLimit {
			return nil, invalid("limit: is %d; it must be between 1 and %d", limit, maxInstanceLimit)
		}
	}
	offset := 0
	if o := req.GetOffset(); o != "" {
		var err error
		if offset, err = strconv.Atoi(o); err != nil || strings.Trim(o, "0123456789") != "" {
			return nil, invalid("offset: %q is not a whole number from 0 up", o)
		}
	}
	sel, err := selectionOf(ctx, req.GetResourceType(), req.GetBody())
	if err != nil {
		return nil, err
	}
	out := &huaweiv1.ListResourceInstancesResponse{}
	// Only the page is kept: the resources before offset are skipped as
	// they stream by, and without matches the count comes from the index.
	n := 0
	err = s.eachInstance(ctx, sel, func(r *tagwayv1.ResourceTags) bool {
		if n >= offset && len(out.Resources) < limit {
			out.Resources = append(out.Resources, instanceDto(r))
		}
		n++
		return len(sel.contains) > 0 || len(out.Resources) < limit
	})
	if err != nil {
		return nil, err
	}
	if len(sel.contains) > 0 {
		out.TotalCount = int32(n)
		return out, nil
	}
	total, err := s.count(ctx, sel)
	if err != nil {
		return nil, err
	}
	out.TotalCount = int32(total)
	return out, nil
}

func (s *service) ShowResourceInstancesCount(ctx context.Context, req *huaweiv1.ShowResourceInstancesCountRequest) (*huaweiv1.ShowResourceInstancesCountResponse, error) {
	sel, err := selectionOf(ctx, req.GetResourceType(), req.GetBody())
	if err != nil {
		return nil, err
	}
	if len(sel.contains) == 0 {
		total, err := s.count(ctx, sel)
		if err != nil {
			return nil, err
		}
		return &huaweiv1.ShowResourceInstancesCountResponse{TotalCount: int32(total)}, nil
	}
	// resource_name matches have no index: the selection is read, a page at
	// a time, and counted as it streams by.
	n := 0
	if err := s.eachInstance(ctx, sel, func(*tagwayv1.ResourceTags) bool { n++; return true }); err != nil {
		return nil, err
	}
	return &huaweiv1.ShowResourceInstancesCountResponse{TotalCount: int32(n)}, nil
}

// selection is what a resource-instance query selects.
type selection struct {
	scopes   []*tagwayv1.ResourceScope
	filters  []*tagwayv1.TagFilter
	untagged bool
	// contains are the resource_name matches: substrings of the id.
	contains []string
}

// selectionOf checks a resource-instance query of resourceType.
func selectionOf(ctx context.Context, resourceType string, body *huaweiv1.ResourceInstanceReqBody) (selection, error) {
	k, aerr := kindOfPath(resourceType)
	if aerr != nil {
		return selection{}, aerr
	}
	filters, err := filtersOf(body)
	if err != nil {
		return selection{}, err
	}
	sel := selection{scopes: scope(domainOf(ctx), k)}
	for i, m := range body.GetMatches() {
		if m.GetKey() != "resource_name" {
			return selection{}, invalid("matches[%d]: key %q is not supported; the only key is resource_name", i, m.GetKey())
		}
		if n := utf8.RuneCountInString(m.GetValue()); n > maxValueLength {
			return selection{}, invalid("matches[%d]: the value is %d characters long, more than %d", i, n, maxValueLength)
		}
		sel.contains = append(sel.contains, m.GetValue())
	}
	if body.GetWithoutAnyTag() {
		sel.untagged = true
	} else {
		sel.filters = filters
	}
	return sel, nil
}

// eachInstance calls visit with every resource sel selects, in order of
// id, a page at a time, until visit returns false.
func (s *service) eachInstance(ctx context.Context, sel selection, visit func(*tagwayv1.ResourceTags) bool) error {
	req := &tagwayv1.ListResourcesRequest{Scopes: sel.scopes, TagFilters: sel.filters, UntaggedOnly: sel.untagged, PageSize: listPageSize}
	for {
		page, err := s.core.ListResources(ctx, req)
		if err != nil {
			return err
		}
	resources:
		for _, r := range page.GetResources() {
			id := idOf(r.GetResource())
			for _, c := range sel.contains {
				if !strings.Contains(id, c) {
					continue resources
				}
			}
			if !visit(r) {
				return nil
			}
		}
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			return nil
		}
	}
}

// count counts what sel selects, without its matches, from the indexes.
func (s *service) count(ctx context.Context, sel selection) (int64, error) {
	req := &tagwayv1.CountResourcesRequest{Scopes: sel.scopes, TagFilters: sel.filters, UntaggedOnly: sel.untagged}
	var total int64
	for {
		resp, err := s.core.CountResources(ctx, req)
		if err != nil {
			return 0, err
		}
		total += resp.GetCount()
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return total, nil
		}
	}
}

// instanceDto is a resource as ListResourceInstances returns it.
func instanceDto(r *tagwayv1.ResourceTags) *huaweiv1.ResourceDto {
	id := idOf(r.GetResource())
	dto := &huaweiv1.ResourceDto{ResourceId: id, ResourceName: id, Tags: make([]*huaweiv1.Match, len(r.GetTags()))}
	for i, t := range r.GetTags() {
		dto.Tags[i] = &huaweiv1.Match{Key: t.GetKey(), Value: t.GetValue()}
	}
	return dto
}

// filtersOf checks the tag filters of a selection: at most 10 keys, unique,
// each with at most 10 unique values.
func filtersOf(body *huaweiv1.ResourceInstanceReqBody) ([]*tagwayv1.TagFilter, error) {
	tags := body.GetTags()
	if len(tags) > maxFilterKeys {
		return nil, invalid("tags: has %d items, at most %d are allowed", len(tags), maxFilterKeys)
	}
	out := make([]*tagwayv1.TagFilter, len(tags))
	for i, t := range tags {
		if slices.ContainsFunc(tags[:i], func(o *huaweiv1.TagsDto) bool { return o.GetKey() == t.GetKey() }) {
			return nil, invalid("tags[%d]: the key %q is given twice", i, t.GetKey())
		}
		if len(t.GetValues()) > maxFilterValues {
			return nil, invalid("tags[%d]: has %d values, at most %d are allowed", i, len(t.GetValues()), maxFilterValues)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(t.GetValues())))) != len(t.GetValues()) {
			return nil, invalid("tags[%d]: a value is given twice", i)
		}
		for _, v := range t.GetValues() {
			if n := utf8.RuneCountInString(v); n > maxValueLength {
				return nil, invalid("tags[%d]: a value is %d characters long, more than %d", i, n, maxValueLength)
			}
		}
		out[i] = &tagwayv1.TagFilter{Key: t.GetKey(), Values: t.GetValues()}
	}
	return out, nil
}
