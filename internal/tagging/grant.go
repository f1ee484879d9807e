package tagging

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/tagway/tagway/internal/arn"
)

// Grant is what one call may read and change. The layer in front of the
// service (package access) derives it from the caller and puts it in the
// call's context; a call without one is unrestricted.
type Grant struct {
	// Unrestricted lets the call read and change every resource, whoever
	// owns it.
	Unrestricted bool
	// Scopes select the namespaces a restricted call may read and change;
	// none selects nothing. A name without an account is judged in the
	// namespace of Owner.
	Scopes []arn.Scope
	// Owner is the account the call acts as for names without an account:
	// it owns the resources it creates, and a restricted call reads and
	// changes only those it owns.
	Owner string
	// Subject names the caller in errors, such as `principal "team-a"`.
	Subject string
}

type grantKey struct{}

// WithGrant returns a context whose calls are limited to g.
func WithGrant(ctx context.Context, g Grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// grantOf returns the Grant of a call.
func grantOf(ctx context.Context) Grant {
	if g, ok := ctx.Value(grantKey{}).(Grant); ok {
		return g
	}
	return Grant{Unrestricted: true}
}

// allows reports whether g lets the call touch the namespace ns.
func (g Grant) allows(ns arn.Namespace) bool {
	if g.Unrestricted {
		return true
	}
	for _, sc := range g.Scopes {
		if sc.Match(ns) {
			return true
		}
	}
	return false
}

// allowsName reports whether g lets the call touch the resource n, owned,
// when its name has no account, by the call's Owner.
func (g Grant) allowsName(n arn.Name) bool {
	if g.Unrestricted {
		return true // without working out the namespace
	}
	ns := n.Namespace()
	if ns.Account == "" {
		ns.Owner = g.Owner
	}
	return g.allows(ns)
}

// outOfScope reports resources[index], which the call may not change.
func outOfScope(g Grant, index int, name string) error {
	problem := fmt.Sprintf("%s is outside the scope of %s", name, g.Subject)
	return withInfo(codes.PermissionDenied, ReasonPermissionDenied, fmt.Sprintf("resources[%d]: %s", index, problem),
		map[string]string{"field": "resources", "index": fmt.Sprint(index), "problem": problem})
}
