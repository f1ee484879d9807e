package access

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/operation"
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

// WithAudit records every call that changes tags, refused or not, with a.
func WithAudit(a Auditor) Option { return func(s *Service) { s.auditor = a } }

// ListAuditEvents implements tagwayv1.TaggingServiceServer: an admin (or
// any caller of tagway without an auth file) lists every record, another
// principal only its own.
func (s *Service) ListAuditEvents(ctx context.Context, req *tagwayv1.ListAuditEventsRequest) (*tagwayv1.ListAuditEventsResponse, error) {
	ctx, cl, release, err := s.enter(ctx, operation.ListAuditEvents)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := s.decideCall(ctx, cl, req); err != nil {
		return nil, err
	}
	if s.auditor == nil {
		return nil, status.Error(codes.FailedPrecondition, "tagway keeps no audit trail")
	}
	only := ""
	if p := cl.caller.Principal; p != nil && !p.Admin {
		only = p.Name
	}
	return s.auditor.ListAuditEvents(ctx, req, only)
}
