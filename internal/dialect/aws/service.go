package aws

import (
	"context"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	awsv1 "github.com/tagway/tagway/gen/go/tagway/aws/v1"
	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/rules"
)

// The API's limits per call, handed to the core as data; the rules of AWS
// resources (50 tags, aws:, the character set, ARN grammar) are the core's
// own, in package rules, whichever surface writes.
var limits = &tagwayv1.Limits{
	MaxResources: 20,
	MaxTags:      50,
}

const (
	// maxTokenLength bounds PaginationToken. AWS's limit is 2048; tagway's
	// tokens carry the last name of the page and exceed it only for
	// resource parts of several hundred non-ASCII characters, so it accepts
	// what it issues.
	maxTokenLength          = 8192
	maxReadARNs             = 100
	maxResourceTypeFilters  = 100
	defaultResourcesPerPage = 100
	// tagKeysPageSize is the page of GetTagKeys and GetTagValues, which
	// have no page size member. A page reads up to this many keys from each
	// namespace in scope, so it is kept small.
	tagKeysPageSize = 100
)

// service implements awsv1.ResourceGroupsTaggingServiceServer on the core.
type service struct {
	awsv1.UnimplementedResourceGroupsTaggingServiceServer
	core tagwayv1.TaggingServiceServer
}

// checkARNs checks the ARNs of a Tag or Untag call.
// It returns ctx carrying the parsed names (rules.WithChecked), so that the
// core parses none of them again.
func checkARNs(ctx context.Context, list []string) (context.Context, error) {
	region := callOf(ctx).region
	checked := rules.NewChecked(len(list))
	for _, s := range list {
		n, err := parseARN(s)
		if err != nil {
			return ctx, err
		}
		if err := inScope(n, region); err != nil {
			return ctx, err
		}
		checked.Add(s, n)
	}
	return rules.WithChecked(ctx, checked), nil
}

// checkToken bounds a PaginationToken before the core decodes it.
func checkToken(token string) error {
	if len(token) > maxTokenLength {
		return invalidParameter("PaginationToken: is longer than %d characters", maxTokenLength)
	}
	return nil
}

func (s *service) UntagResources(ctx context.Context, req *awsv1.UntagResourcesRequest) (*awsv1.UntagResourcesResponse, error) {
	ctx, err := checkARNs(ctx, req.GetResourceArnList())
	if err != nil {
		return nil, err
	}
	resp, err := s.core.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: req.GetResourceArnList(), TagKeys: req.GetTagKeys(), Limits: limits, HomeRegion: callOf(ctx).region})
	if err != nil {
		return nil, err
	}
	return &awsv1.UntagResourcesResponse{FailedResourcesMap: failures(resp.GetFailedResources())}, nil
}

func (s *service) TagResources(ctx context.Context, req *awsv1.TagResourcesRequest) (*awsv1.TagResourcesResponse, error) {
	ctx, err := checkARNs(ctx, req.GetResourceArnList())
	if err != nil {
		return nil, err
	}
	resp, err := s.core.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: req.GetResourceArnList(), Tags: req.GetTags(), Limits: limits, HomeRegion: callOf(ctx).region})
	if err != nil {
		return nil, err
	}
	return &awsv1.TagResourcesResponse{FailedResourcesMap: failures(resp.GetFailedResources())}, nil
}

// failures maps the core's per-resource failures to AWS FailureInfo.
func failures(in map[string]*tagwayv1.ResourceFailure) map[string]*awsv1.FailureInfo {
	out := make(map[string]*awsv1.FailureInfo, len(in))
	for name, f := range in {
		info := &awsv1.FailureInfo{StatusCode: http.StatusBadRequest, ErrorCode: "InvalidParameterException", ErrorMessage: f.GetMessage()}
		switch c := codes.Code(f.GetCode()); {
		case f.GetReason() == tagwayv1.FailureReason_FAILURE_REASON_DENIED_BY_POLICY:
			// FailureInfo's documentation names AccessDeniedException as the
			// code of a resource the caller may not tag (docs/aws.md).
			info.StatusCode, info.ErrorCode = http.StatusForbidden, "AccessDeniedException"
		case f.GetReason() == tagwayv1.FailureReason_FAILURE_REASON_STORE_FULL:
			// AWS has two error codes here; the status says it is the
			// server's condition, and the message that retrying will not
			// help (docs/aws.md).
			info.StatusCode, info.ErrorCode = http.StatusInsufficientStorage, "InternalServiceException"
		case c != codes.InvalidArgument && c != codes.PermissionDenied:
			info.StatusCode, info.ErrorCode = http.StatusInternalServerError, "InternalServiceException"
		}
		out[name] = info
	}
	return out
}

// untypedIs names the resource type of the services whose ARNs have no type
// in their resource part: arn:aws:s3:::bucket is an s3:bucket.
var untypedIs = map[string]string{"s3": "bucket", "sqs": "queue", "sns": "topic"}

// scopes returns the core scopes for a read: the partition and region the
// API is invoked in (global resources included), narrowed by resource type
// filters ("service" or "service:type").
func scopes(ctx context.Context, filters []string) ([]*tagwayv1.ResourceScope, error) {
	base := &tagwayv1.ResourceScope{Partitions: partitions}
	if region := callOf(ctx).region; region != "" {
		// The region's resources, buckets living there included; global
		// resources only in the partition's global region.
		p := partitionOf(region)
		base = &tagwayv1.ResourceScope{Partitions: []string{p}, Regions: []string{region}}
		if region == rules.GlobalRegion(p) {
			base.Regions = append(base.Regions, "")
		}
	}
	if len(filters) == 0 {
		return []*tagwayv1.ResourceScope{base}, nil
	}
	if len(filters) > maxResourceTypeFilters {
		return nil, invalidParameter("ResourceTypeFilters: has %d items, at most %d are allowed", len(filters), maxResourceTypeFilters)
	}
	out := make([]*tagwayv1.ResourceScope, 0, len(filters))
	for i, f := range filters {
		svc, typ, typed := strings.Cut(f, ":")
		if !rules.ValidService(svc) || typed && (typ == "" || strings.Contains(typ, ":") || strings.IndexFunc(typ, unicode.IsControl) >= 0 || utf8.RuneCountInString(f) > 256) {
			return nil, invalidParameter("ResourceTypeFilters[%d]: %q is not of the form service, service:resourceType or service:resourceType/subtype (for example ec2, ec2:instance, elasticloadbalancing:loadbalancer/app)", i, f)
		}
		sc := &tagwayv1.ResourceScope{Partitions: base.GetPartitions(), Regions: base.GetRegions(), Services: []string{svc}}
		if typed {
			sc.ResourceTypes = arn.SelectTypes(svc, typ)
			if untypedIs[svc] == typ {
				sc.ResourceTypes = append(sc.ResourceTypes, "")
			}
		}
		out = append(out, sc)
	}
	return out, nil
}

func (s *service) GetResources(ctx context.Context, req *awsv1.GetResourcesRequest) (*awsv1.GetResourcesResponse, error) {
	if req.GetExcludeCompliantResources() && !req.GetIncludeComplianceDetails() {
		return nil, invalidParameter("ExcludeCompliantResources can only be set with IncludeComplianceDetails")
	}
	if err := checkToken(req.GetPaginationToken()); err != nil {
		return nil, err
	}
	var mappings []*tagwayv1.ResourceTags
	next := ""
	if len(req.GetResourceArnList()) == 0 && callOf(ctx).sent("ResourceARNList", "resource_arn_list") {
		return nil, invalidParameter("ResourceARNList: is empty; give 1 to %d ARNs, or leave it out", maxReadARNs)
	}
	if len(req.GetResourceArnList()) > 0 {
		for _, other := range []struct {
			name string
			set  bool
		}{
			{"TagFilters", len(req.GetTagFilters()) > 0},
			{"ResourceTypeFilters", len(req.GetResourceTypeFilters()) > 0},
			{"ResourcesPerPage", req.ResourcesPerPage != nil},
			{"TagsPerPage", req.TagsPerPage != nil},
			{"PaginationToken", req.GetPaginationToken() != ""},
		} {
			if other.set {
				return nil, invalidParameter("ResourceARNList cannot be combined with %s", other.name)
			}
		}
		var err error
		if mappings, err = s.byARN(ctx, req.GetResourceArnList()); err != nil {
			return nil, err
		}
	} else {
		size := int32(defaultResourcesPerPage)
		if req.ResourcesPerPage != nil {
			if size = req.GetResourcesPerPage(); size < 1 || size > 100 {
				return nil, invalidParameter("ResourcesPerPage: is %d; it must be between 1 and 100", size)
			}
		}
		var maxTags int32
		if req.TagsPerPage != nil {
			if maxTags = req.GetTagsPerPage(); maxTags < 100 || maxTags > 500 {
				return nil, invalidParameter("TagsPerPage: is %d; it must be between 100 and 500", maxTags)
			}
		}
		sc, err := scopes(ctx, req.GetResourceTypeFilters())
		if err != nil {
			return nil, err
		}
		filters := make([]*tagwayv1.TagFilter, len(req.GetTagFilters()))
		for i, f := range req.GetTagFilters() {
			filters[i] = &tagwayv1.TagFilter{Key: f.GetKey(), Values: f.GetValues()}
		}
		resp, err := s.core.ListResources(ctx, &tagwayv1.ListResourcesRequest{
			Scopes: sc, TagFilters: filters, PageSize: size, MaxPageTags: maxTags, PageToken: req.GetPaginationToken(),
		})
		if err != nil {
			return nil, err
		}
		mappings, next = resp.GetResources(), resp.GetNextPageToken()
	}
	// The marshaler sends empty lists as [], never leaves them out.
	out := &awsv1.GetResourcesResponse{PaginationToken: next}
	if req.GetExcludeCompliantResources() {
		// Without tag policies every resource complies, so none is left.
		return out, nil
	}
	for _, r := range mappings {
		m := &awsv1.ResourceTagMapping{ResourceArn: r.GetResource(), Tags: make([]*awsv1.Tag, len(r.GetTags()))}
		for i, t := range r.GetTags() {
			m.Tags[i] = &awsv1.Tag{Key: t.GetKey(), Value: t.GetValue()}
		}
		if req.GetIncludeComplianceDetails() {
			m.ComplianceDetails = &awsv1.ComplianceDetails{ComplianceStatus: true}
		}
		out.ResourceTagMappingList = append(out.ResourceTagMappingList, m)
	}
	return out, nil
}

// byARN reads named resources. ARNs outside the invoked region, like ARNs
// never tagged, are left out; an ARN of another partition is an error, as
// on AWS.
func (s *service) byARN(ctx context.Context, list []string) ([]*tagwayv1.ResourceTags, error) {
	if len(list) > maxReadARNs {
		return nil, invalidParameter("ResourceARNList: has %d items, at most %d are allowed", len(list), maxReadARNs)
	}
	region := callOf(ctx).region
	var keep []string
	checked := rules.NewChecked(len(list)) // in the order of keep
	for _, a := range list {
		n, err := parseARN(a)
		if err != nil {
			return nil, err
		}
		if region != "" && n.Partition != partitionOf(region) {
			return nil, invalidParameter("ResourceARNList: the partition of the ARN %s does not match the partition %s of the region %s in which the API is invoked", a, partitionOf(region), region)
		}
		if inScope(n, region) == nil {
			keep = append(keep, a)
			checked.Add(a, n)
		}
	}
	if len(keep) == 0 {
		return nil, nil
	}
	resp, err := s.core.GetResourceTags(rules.WithChecked(ctx, checked), &tagwayv1.GetResourceTagsRequest{Resources: keep, HomeRegion: region})
	if err != nil {
		return nil, err
	}
	return resp.GetResources(), nil
}

func (s *service) GetTagKeys(ctx context.Context, req *awsv1.GetTagKeysRequest) (*awsv1.GetTagKeysResponse, error) {
	if err := checkToken(req.GetPaginationToken()); err != nil {
		return nil, err
	}
	sc, _ := scopes(ctx, nil)
	resp, err := s.core.ListTagKeys(ctx, &tagwayv1.ListTagKeysRequest{Scopes: sc, PageSize: tagKeysPageSize, PageToken: req.GetPaginationToken()})
	if err != nil {
		return nil, err
	}
	return &awsv1.GetTagKeysResponse{TagKeys: resp.GetTagKeys(), PaginationToken: resp.GetNextPageToken()}, nil
}

func (s *service) GetTagValues(ctx context.Context, req *awsv1.GetTagValuesRequest) (*awsv1.GetTagValuesResponse, error) {
	if err := checkToken(req.GetPaginationToken()); err != nil {
		return nil, err
	}
	sc, _ := scopes(ctx, nil)
	resp, err := s.core.ListTagValues(ctx, &tagwayv1.ListTagValuesRequest{Scopes: sc, TagKey: req.GetKey(), PageSize: tagKeysPageSize, PageToken: req.GetPaginationToken()})
	if err != nil {
		return nil, err
	}
	return &awsv1.GetTagValuesResponse{TagValues: resp.GetTagValues(), PaginationToken: resp.GetNextPageToken()}, nil
}

// noTagPolicies answers the compliance operations.
func noTagPolicies(op string) error {
	return &apiError{
		Type: "ConstraintViolationException", Status: http.StatusBadRequest,
		Message: op + " needs AWS Organizations tag policies, which tagway does not implement; tag compliance cannot be reported",
	}
}

func (s *service) GetComplianceSummary(context.Context, *awsv1.GetComplianceSummaryRequest) (*awsv1.GetComplianceSummaryResponse, error) {
	return nil, noTagPolicies("GetComplianceSummary")
}

func (s *service) StartReportCreation(context.Context, *awsv1.StartReportCreationRequest) (*awsv1.StartReportCreationResponse, error) {
	return nil, noTagPolicies("StartReportCreation")
}

func (s *service) DescribeReportCreation(context.Context, *awsv1.DescribeReportCreationRequest) (*awsv1.DescribeReportCreationResponse, error) {
	return nil, noTagPolicies("DescribeReportCreation")
}

// maxRequiredTagsResults bounds ListRequiredTags' MaxResults.
const maxRequiredTagsResults = 200

// ListRequiredTags answers with the required tags of the caller's tag
// policy: tagway has no tag policies, so none, on one last page. It issues
// no tokens, so any NextToken is not one of its own.
func (s *service) ListRequiredTags(_ context.Context, req *awsv1.ListRequiredTagsRequest) (*awsv1.ListRequiredTagsResponse, error) {
	if req.MaxResults != nil && (req.GetMaxResults() < 1 || req.GetMaxResults() > maxRequiredTagsResults) {
		return nil, invalidParameter("MaxResults: is %d; it must be between 1 and %d", req.GetMaxResults(), maxRequiredTagsResults)
	}
	if req.GetNextToken() != "" {
		return nil, invalidParameter("NextToken: is not a token tagway issued")
	}
	return &awsv1.ListRequiredTagsResponse{RequiredTags: []*awsv1.RequiredTag{}}, nil
}
