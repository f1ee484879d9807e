package tagging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"google.golang.org/grpc/codes"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/rules"
	"github.com/tagway/tagway/internal/tagstore"
)

// batch checks the limits and resources of a Tag or Untag call: each name
// must be one its kind of resource accepts (rules.Kind), and one the call
// may change; a call naming one outside its Grant fails whole and changes
// nothing. It returns the names, their kinds and the distinct kinds.
func (s *Service) batch(ctx context.Context, raw *tagwayv1.Limits, resources []string) (limits, []target, []*rules.Kind, error) {
	l, err := s.limits(raw)
	if err != nil {
		return l, nil, nil, err
	}
	names, at, err := names("resources", resources, l.maxResources)
	if err != nil {
		return l, nil, nil, err
	}
	targets := make([]target, len(names))
	var kinds []*rules.Kind
	for i, n := range names {
		k := rules.For(n)
		if k != nil {
			if p := k.CheckName(n); p != "" {
				return l, nil, nil, invalid("resources", at[i], "%s", p)
			}
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
		targets[i] = target{name: n, kind: k}
	}
	if err := s.checkGrant(ctx, names, at); err != nil {
		return l, nil, nil, err
	}
	return l, targets, kinds, nil
}

// target is a resource of a call and the rules of its kind (nil: none but
// the server's).
type target struct {
	name arn.Name
	kind *rules.Kind
}

// kindNote names the rules a problem comes from, when a call mixes kinds of
// resources and could not tell otherwise.
func kindNote(k *rules.Kind, kinds []*rules.Kind) string {
	if k == nil || len(kinds) < 2 {
		return ""
	}
	return " (the rule of " + k.Name + " resources)"
}

// checkGrant checks that the call may change each of names (at: their
// indexes in the request).
func (s *Service) checkGrant(ctx context.Context, names []arn.Name, at []int) error {
	g := grantOf(ctx)
	if g.Unrestricted {
		return nil
	}
	var accountless []arn.Name
	index := map[string]int{}
	for i, n := range names {
		if !g.allowsName(n) {
			return outOfScope(g, at[i], n.String())
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
			return s.storeFailed(ctx, err)
		}
		for _, r := range found {
			if r.Owner != g.Owner {
				return outOfScope(g, index[r.Name], r.Name)
			}
		}
	}
	return nil
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
