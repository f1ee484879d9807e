// Package access is the layer every surface calls the core through. It
// turns the caller a surface authenticated into the grant the core enforces,
// so that gRPC and both REST dialects (which call the core in-process, out
// of reach of gRPC interceptors) are held to the same scope.
package access

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/tagging"
)

// Service wraps the core: each call runs under the grant of its caller. A
// call that no surface authenticated is refused, so a surface wired without
// authentication fails closed.
type Service struct {
	// A core operation this layer does not wrap yet answers Unimplemented
	// rather than running ungoverned.
	tagwayv1.UnimplementedTaggingServiceServer
	core tagwayv1.TaggingServiceServer
}

// New returns the layer over core.
func New(core tagwayv1.TaggingServiceServer) *Service { return &Service{core: core} }

// ReasonUnauthenticated is the ErrorInfo reason of a call that reached the
// core without a caller.
const ReasonUnauthenticated = "UNAUTHENTICATED"

// HuaweiPartition and HuaweiService name Huawei Cloud Organizations
// resources (docs/resource-names.md).
const (
	HuaweiPartition = "huaweicloud"
	HuaweiService   = "organizations"
)

// Grant returns what a principal may read and change: everything for an
// admin or an anonymous caller (nil; tagway without an auth file), and
// otherwise the names of its AWS account (in AWS partitions, with the
// buckets and other account-less resources it owns) and of its Huawei
// Cloud organization.
func Grant(p *principals.Principal) tagging.Grant {
	if p == nil {
		return tagging.Grant{Unrestricted: true, Subject: "anonymous caller"}
	}
	var what []string
	g := tagging.Grant{Unrestricted: p.Admin}
	if a := p.AWS; a != nil {
		g.Scopes = append(g.Scopes, arn.Scope{Partitions: arn.AWSPartitions, Accounts: []string{a.Account}})
		g.Owner = a.Account
		what = append(what, "AWS account "+a.Account)
	}
	if h := p.Huawei; h != nil {
		g.Scopes = append(g.Scopes, arn.Scope{Partitions: []string{HuaweiPartition}, Services: []string{HuaweiService}, Accounts: []string{h.DomainID}})
		what = append(what, "Huawei Cloud account "+h.DomainID)
	}
	switch {
	case p.Admin:
		g.Subject = fmt.Sprintf("principal %q (admin)", p.Name)
	case len(what) == 0:
		g.Subject = fmt.Sprintf("principal %q, which has no account", p.Name)
	default:
		g.Subject = fmt.Sprintf("principal %q (%s)", p.Name, strings.Join(what, ", "))
	}
	return g
}

// enter returns the context a call runs in, under its caller's grant.
func enter(ctx context.Context) (context.Context, error) {
	c, ok := identity.FromContext(ctx)
	if !ok {
		st, _ := status.New(codes.Unauthenticated, "the call carries no authenticated caller").
			WithDetails(&errdetails.ErrorInfo{Reason: ReasonUnauthenticated, Domain: tagging.ErrorDomain})
		return nil, st.Err()
	}
	return tagging.WithGrant(ctx, Grant(c.Principal)), nil
}

// call runs fn under the grant of the caller in ctx.
func call[Q, R any](ctx context.Context, req Q, fn func(context.Context, Q) (R, error)) (R, error) {
	ctx, err := enter(ctx)
	if err != nil {
		var none R
		return none, err
	}
	return fn(ctx, req)
}

// UntagResources implements tagwayv1.TaggingServiceServer.
func (s *Service) UntagResources(ctx context.Context, req *tagwayv1.UntagResourcesRequest) (*tagwayv1.UntagResourcesResponse, error) {
	return call(ctx, req, s.core.UntagResources)
}

// TagResources implements tagwayv1.TaggingServiceServer.
func (s *Service) TagResources(ctx context.Context, req *tagwayv1.TagResourcesRequest) (*tagwayv1.TagResourcesResponse, error) {
	return call(ctx, req, s.core.TagResources)
}

// GetResourceTags implements tagwayv1.TaggingServiceServer.
func (s *Service) GetResourceTags(ctx context.Context, req *tagwayv1.GetResourceTagsRequest) (*tagwayv1.GetResourceTagsResponse, error) {
	return call(ctx, req, s.core.GetResourceTags)
}

// ListResources implements tagwayv1.TaggingServiceServer.
func (s *Service) ListResources(ctx context.Context, req *tagwayv1.ListResourcesRequest) (*tagwayv1.ListResourcesResponse, error) {
	return call(ctx, req, s.core.ListResources)
}

// ListTagKeys implements tagwayv1.TaggingServiceServer.
func (s *Service) ListTagKeys(ctx context.Context, req *tagwayv1.ListTagKeysRequest) (*tagwayv1.ListTagKeysResponse, error) {
	return call(ctx, req, s.core.ListTagKeys)
}

// ListTagValues implements tagwayv1.TaggingServiceServer.
func (s *Service) ListTagValues(ctx context.Context, req *tagwayv1.ListTagValuesRequest) (*tagwayv1.ListTagValuesResponse, error) {
	return call(ctx, req, s.core.ListTagValues)
}
