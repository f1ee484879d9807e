package access

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/identity"
)

// Auditor keeps the audit trail (package audit's Trail).
type Auditor interface {
	// Call records a call: ctx carries its caller, resp is nil when it
	// failed with err.
	Call(ctx context.Context, req, resp proto.Message, err error)
	// ListAuditEvents lists records; principal, when not empty, is the
	// only principal the caller may see.
	ListAuditEvents(ctx context.Context, req *tagwayv1.ListAuditEventsRequest, principal string) (*tagwayv1.ListAuditEventsResponse, error)
}

// Option configures a Service.
type Option func(*Service)

// WithAudit records every call that changes tags, refused or not, with a.
func WithAudit(a Auditor) Option { return func(s *Service) { s.auditor = a } }

// mutate runs a call that changes tags, as call does, and records it.
func mutate[Q, R proto.Message](s *Service, ctx context.Context, req Q, fn func(context.Context, Q) (R, error)) (R, error) {
	inner, err := s.enter(ctx)
	var resp R
	if err == nil {
		ctx = inner
		resp, err = fn(inner, req)
	}
	if s.auditor != nil {
		var out proto.Message
		if err == nil {
			out = resp
		}
		s.auditor.Call(ctx, req, out, err)
	}
	return resp, err
}

// ListAuditEvents implements tagwayv1.TaggingServiceServer: an admin (or
// any caller of tagway without an auth file) lists every record, another
// principal only its own.
func (s *Service) ListAuditEvents(ctx context.Context, req *tagwayv1.ListAuditEventsRequest) (*tagwayv1.ListAuditEventsResponse, error) {
	ctx, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	if s.auditor == nil {
		return nil, status.Error(codes.FailedPrecondition, "tagway keeps no audit trail")
	}
	c, _ := identity.FromContext(ctx)
	only := ""
	if c.Principal != nil && !c.Principal.Admin {
		only = c.Principal.Name
	}
	return s.auditor.ListAuditEvents(ctx, req, only)
}
