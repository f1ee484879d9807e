// Package access is the layer every surface calls the core through. It
// turns the caller a surface authenticated into the grant the core enforces,
// so that gRPC and both REST dialects (which call the core in-process, out
// of reach of gRPC interceptors) are held to the same scope.
package access

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/callinfo"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/rules"
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

	// grants caches the grant of each principal: principals do not change
	// (a reloaded auth file makes new ones), and building a grant on every
	// call would cost more than verifying its signature.
	mu     sync.RWMutex
	grants map[*principals.Principal]tagging.Grant

	auditor Auditor // nil: no audit trail
}

// maxGrants bounds the grant cache; past it, the cache starts over, so that
// principals of auth files reloaded long ago do not pile up.
const maxGrants = 4096

// New returns the layer over core.
func New(core tagwayv1.TaggingServiceServer, opts ...Option) *Service {
	s := &Service{core: core, grants: map[*principals.Principal]tagging.Grant{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ReasonUnauthenticated is the ErrorInfo reason of a call that reached the
// core without a caller.
const ReasonUnauthenticated = "UNAUTHENTICATED"

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
		g.Scopes = append(g.Scopes, arn.Scope{Partitions: []string{rules.HuaweiPartition}, Services: []string{rules.HuaweiService}, Accounts: []string{h.DomainID}})
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

// grant returns the cached Grant of p.
func (s *Service) grant(p *principals.Principal) tagging.Grant {
	s.mu.RLock()
	g, ok := s.grants[p]
	s.mu.RUnlock()
	if ok {
		return g
	}
	g = Grant(p)
	s.mu.Lock()
	if len(s.grants) >= maxGrants {
		clear(s.grants)
	}
	s.grants[p] = g
	s.mu.Unlock()
	return g
}

// enter returns the context a call runs in, under its caller's grant.
func (s *Service) enter(ctx context.Context) (context.Context, error) {
	c, ok := identity.FromContext(ctx)
	if !ok {
		st, _ := status.New(codes.Unauthenticated, "the call carries no authenticated caller").
			WithDetails(&errdetails.ErrorInfo{Reason: ReasonUnauthenticated, Domain: tagging.ErrorDomain})
		return nil, st.Err()
	}
	ctx, c = callinfo.Fill(ctx, c)
	return tagging.WithGrant(ctx, s.grant(c.Principal)), nil
}

// call runs fn under the grant of the caller in ctx.
func call[Q, R any](s *Service, ctx context.Context, req Q, fn func(context.Context, Q) (R, error)) (R, error) {
	ctx, err := s.enter(ctx)
	if err != nil {
		var none R
		return none, err
	}
	return fn(ctx, req)
}

// UntagResources implements tagwayv1.TaggingServiceServer.
func (s *Service) UntagResources(ctx context.Context, req *tagwayv1.UntagResourcesRequest) (*tagwayv1.UntagResourcesResponse, error) {
	return mutate(s, ctx, req, s.core.UntagResources)
}

// TagResources implements tagwayv1.TaggingServiceServer.
func (s *Service) TagResources(ctx context.Context, req *tagwayv1.TagResourcesRequest) (*tagwayv1.TagResourcesResponse, error) {
	return mutate(s, ctx, req, s.core.TagResources)
}

// GetResourceTags implements tagwayv1.TaggingServiceServer.
func (s *Service) GetResourceTags(ctx context.Context, req *tagwayv1.GetResourceTagsRequest) (*tagwayv1.GetResourceTagsResponse, error) {
	return call(s, ctx, req, s.core.GetResourceTags)
}

// ListResources implements tagwayv1.TaggingServiceServer.
func (s *Service) ListResources(ctx context.Context, req *tagwayv1.ListResourcesRequest) (*tagwayv1.ListResourcesResponse, error) {
	return call(s, ctx, req, s.core.ListResources)
}

// CountResources implements tagwayv1.TaggingServiceServer.
func (s *Service) CountResources(ctx context.Context, req *tagwayv1.CountResourcesRequest) (*tagwayv1.CountResourcesResponse, error) {
	return call(s, ctx, req, s.core.CountResources)
}

// ListTagKeys implements tagwayv1.TaggingServiceServer.
func (s *Service) ListTagKeys(ctx context.Context, req *tagwayv1.ListTagKeysRequest) (*tagwayv1.ListTagKeysResponse, error) {
	return call(s, ctx, req, s.core.ListTagKeys)
}

// ListTagValues implements tagwayv1.TaggingServiceServer.
func (s *Service) ListTagValues(ctx context.Context, req *tagwayv1.ListTagValuesRequest) (*tagwayv1.ListTagValuesResponse, error) {
	return call(s, ctx, req, s.core.ListTagValues)
}

// WatchTagChanges implements tagwayv1.TaggingServiceServer: the watch sees
// what the caller's grant lets it list.
func (s *Service) WatchTagChanges(req *tagwayv1.WatchTagChangesRequest, stream grpc.ServerStreamingServer[tagwayv1.WatchTagChangesResponse]) error {
	ctx, err := s.enter(stream.Context())
	if err != nil {
		return err
	}
	return s.core.WatchTagChanges(req, callinfo.Stream(ctx, stream))
}
