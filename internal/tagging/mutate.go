package tagging

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/rules"
	"github.com/tagway/tagway/internal/tagstore"
)

// batch is a Tag or Untag call, checked.
type batch struct {
	limits  limits
	targets []target
	kinds   []*rules.Kind // the distinct kinds of targets
	home    string        // home_region
}

// newBatch checks the limits and resources of a Tag or Untag call: each
// name must be one its kind of resource accepts (rules.Kind), one the call
// may change, and, when the call names a region, one living there; a call
// naming one outside its Grant or its region fails whole and changes
// nothing.
func (s *Service) newBatch(ctx context.Context, raw *tagwayv1.Limits, resources []string, home string) (batch, error) {
	b := batch{home: home}
	var err error
	if b.limits, err = s.limits(raw); err != nil {
		return b, err
	}
	if err := arn.CheckField(home); err != nil {
		return b, invalid("home_region", -1, "%v", err)
	}
	names, at, checked, err := names(ctx, "resources", resources, b.limits.maxResources)
	if err != nil {
		return b, err
	}
	b.targets = make([]target, len(names))
	for i, n := range names {
		k := rules.For(n)
		if k != nil && !checked[i] {
			if p := k.CheckName(n); p != "" {
				return b, invalid("resources", at[i], "%s", p)
			}
		}
		if !slices.Contains(b.kinds, k) {
			b.kinds = append(b.kinds, k)
		}
		b.targets[i] = target{name: n, kind: k}
	}
	return b, s.checkPlacement(ctx, names, at, home)
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

// livesIn returns the region a Homed resource with the home home lives in:
// that home, or, for none, its partition's global region.
func livesIn(n arn.Name, home string) string {
	if home != "" {
		return home
	}
	return rules.GlobalRegion(n.Partition)
}

// checkPlacement checks that the call may change each of names (at: their
// indexes in the request): that its Grant allows them, and, for names whose
// owner or home the store holds, that they belong to the call's owner and
// live in its region. A placement that changes after this read is caught by
// the store, as a failure of that resource alone.
func (s *Service) checkPlacement(ctx context.Context, names []arn.Name, at []int, home string) error {
	g := grantOf(ctx)
	var read []arn.Name
	index := map[string]int{}
	for i, n := range names {
		if !g.allowsName(n) {
			return outOfScope(g, at[i], n.String())
		}
		if !g.Unrestricted && n.Account == "" || home != "" && n.Homed() {
			read = append(read, n)
			index[n.String()] = i
		}
	}
	if len(read) == 0 {
		return nil
	}
	found, err := s.store.Get(ctx, read)
	if err != nil {
		return s.storeFailed(ctx, err)
	}
	for _, r := range found {
		i := index[r.Name]
		n := names[i]
		if !g.Unrestricted && n.Account == "" && r.Owner != g.Owner {
			// Another account's, like another account's ARN.
			return outOfScope(g, at[i], r.Name)
		}
		if home != "" && n.Homed() && livesIn(n, r.Home) != home {
			return invalid("resources", at[i], "%s lives in region %s, not in %s, the region of this call", r.Name, livesIn(n, r.Home), home)
		}
	}
	return nil
}

// change returns the change to one resource, acting as the call's owner in
// its region.
func (b batch) change(ctx context.Context, c tagstore.Change) tagstore.Change {
	g := grantOf(ctx)
	c.Owner, c.AnyOwner, c.Home = g.Owner, g.Unrestricted, b.home
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
		case errors.Is(err, tagstore.ErrNotHome):
			failed[name] = &tagwayv1.ResourceFailure{
				Reason:  tagwayv1.FailureReason_FAILURE_REASON_WRONG_REGION,
				Code:    int32(codes.InvalidArgument),
				Message: fmt.Sprintf("%s lives in another region than %s, the region of this call", name, changes[i].Home),
			}
			continue
		}
		if errors.Is(err, tagstore.ErrFull) {
			failed[name] = &tagwayv1.ResourceFailure{
				Reason:  tagwayv1.FailureReason_FAILURE_REASON_STORE_FULL,
				Code:    int32(codes.ResourceExhausted),
				Message: storeFullMessage,
			}
			continue
		}
		s.failures.Report(ctx, "change", err)
		msg := "the tag store failed or did not answer in time; the change may not have been applied (it never will be after this answer), and retrying it is safe"
		if errors.Is(err, tagstore.ErrLate) {
			msg = "the tag store did not answer in time; the change was not applied, and retrying it is safe"
		}
		failed[name] = &tagwayv1.ResourceFailure{
			Reason:  tagwayv1.FailureReason_FAILURE_REASON_STORE_UNAVAILABLE,
			Code:    int32(codes.Unavailable),
			Message: msg,
		}
	}
	return failed
}
