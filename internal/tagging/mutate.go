package tagging

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// batch checks the limits and resources of a Tag or Untag call.
func (s *Service) batch(raw *tagwayv1.Limits, resources []string) (limits, []arn.Name, error) {
	l, err := s.limits(raw)
	if err != nil {
		return l, nil, err
	}
	names, err := names("resources", resources, l.maxResources)
	return l, names, err
}

// apply runs validated changes and reports per-resource failures by name.
func (s *Service) apply(ctx context.Context, changes []tagstore.Change) map[string]*tagwayv1.ResourceFailure {
	failed := map[string]*tagwayv1.ResourceFailure{}
	for i, err := range s.store.Apply(ctx, changes) {
		if err == nil {
			continue
		}
		name := changes[i].Resource.String()
		var le *tagstore.LimitError
		if errors.As(err, &le) {
			failed[name] = &tagwayv1.ResourceFailure{
				Reason:  tagwayv1.FailureReason_FAILURE_REASON_TAG_LIMIT_EXCEEDED,
				Code:    int32(codes.InvalidArgument),
				Message: le.Error(),
			}
			continue
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "tag store change failed", slog.String("resource", name), slog.Any("error", err))
		failed[name] = &tagwayv1.ResourceFailure{
			Reason:  tagwayv1.FailureReason_FAILURE_REASON_STORE_UNAVAILABLE,
			Code:    int32(codes.Unavailable),
			Message: "the tag store failed; the change may not have been applied, and retrying it is safe",
		}
	}
	return failed
}
