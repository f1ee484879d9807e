package tagging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc/codes"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// batch checks the limits and resources of a Tag or Untag call, and that
// the call may change each resource: a call naming one outside its Grant
// fails whole and changes nothing.
func (s *Service) batch(ctx context.Context, raw *tagwayv1.Limits, resources []string) (limits, []arn.Name, error) {
	l, err := s.limits(raw)
	if err != nil {
		return l, nil, err
	}
	names, at, err := names("resources", resources, l.maxResources)
	if err != nil {
		return l, nil, err
	}
	g := grantOf(ctx)
	if g.Unrestricted {
		return l, names, nil
	}
	var accountless []arn.Name
	index := map[string]int{}
	for i, n := range names {
		if !g.allowsName(n) {
			return l, nil, outOfScope(g, at[i], n.String())
		}
		if n.Account == "" {
			accountless = append(accountless, n)
			index[n.String()] = at[i]
		}
	}
	if len(accountless) > 0 {
		// A resource another account owns is out of scope like another
		// account's ARN. An owner that appears after this read is caught
		// by the store, as a failure of that resource alone.
		found, err := s.store.Get(ctx, accountless)
		if err != nil {
			return l, nil, s.storeFailed(ctx, err)
		}
		for _, r := range found {
			if r.Owner != g.Owner {
				return l, nil, outOfScope(g, index[r.Name], r.Name)
			}
		}
	}
	return l, names, nil
}

// change returns the change to one resource, acting as the call's owner.
func change(ctx context.Context, c tagstore.Change) tagstore.Change {
	g := grantOf(ctx)
	c.Owner, c.AnyOwner = g.Owner, g.Unrestricted
	return c
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
		switch {
		case errors.As(err, &le):
			failed[name] = &tagwayv1.ResourceFailure{
				Reason:  tagwayv1.FailureReason_FAILURE_REASON_TAG_LIMIT_EXCEEDED,
				Code:    int32(codes.InvalidArgument),
				Message: le.Error(),
			}
			continue
		case errors.Is(err, tagstore.ErrNotOwner):
			failed[name] = &tagwayv1.ResourceFailure{
				Reason:  tagwayv1.FailureReason_FAILURE_REASON_PERMISSION_DENIED,
				Code:    int32(codes.PermissionDenied),
				Message: fmt.Sprintf("%s is outside the scope of %s: another account owns it", name, grantOf(ctx).Subject),
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
