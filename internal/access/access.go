// Package access is the layer every surface calls the core through. It
// turns the caller a surface authenticated into the grant the core enforces,
// and applies the bound on calls in flight, the rate limits and the
// policies, so that gRPC and both REST dialects (which call the core
// in-process, out of reach of gRPC interceptors) are held to the same rules.
package access

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/callinfo"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/logevery"
	"github.com/tagway/tagway/internal/memo"
	"github.com/tagway/tagway/internal/operation"
	"github.com/tagway/tagway/internal/overload"
	"github.com/tagway/tagway/internal/policy"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/quota"
	"github.com/tagway/tagway/internal/rules"
	"github.com/tagway/tagway/internal/tagging"
)

// Service wraps the core: each call runs under the grant of its caller,
// within its rate limits and the bound on calls in flight, and as far as the
// policies in force allow. A call that no surface authenticated is refused,
// so a surface wired without authentication fails closed.
type Service struct {
	// A core operation this layer does not wrap yet answers Unimplemented
	// rather than running ungoverned.
	tagwayv1.UnimplementedTaggingServiceServer
	core tagwayv1.TaggingServiceServer

	// grants caches the grant of each principal: principals do not change
	// (a reloaded auth file makes new ones), and building a grant on every
	// call would cost more than verifying its signature.
	grants *memo.Bounded[*principals.Principal, tagging.Grant]

	policies *policy.Source // nil: no policy file
	quotas   *quota.Quotas  // nil: no rate limits
	inflight *overload.Bound
	log      *slog.Logger
	refused  func(operation, reason string)
	auditor  Auditor // nil: no audit trail
	// policyErrors limits the log lines about policies that fail to
	// evaluate.
	policyErrors *logevery.Limiter
}

// Option configures a Service.
type Option func(*Service)

// WithPolicies decides every call with the policies of src.
func WithPolicies(src *policy.Source) Option { return func(s *Service) { s.policies = src } }

// WithQuotas applies rate limits to every call.
func WithQuotas(q *quota.Quotas) Option { return func(s *Service) { s.quotas = q } }

// WithMaxInflight refuses calls at once while n are in flight (0: no bound).
func WithMaxInflight(n int) Option { return func(s *Service) { s.inflight = overload.New(n) } }

// WithRefusals has refused told of each call refused whole: its operation
// and the ErrorInfo reason (THROTTLED, OVERLOADED, DENIED_BY_POLICY).
func WithRefusals(refused func(operation, reason string)) Option {
	return func(s *Service) { s.refused = refused }
}

// WithLogger sets where problems with the policies are logged.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// maxGrants bounds the grant cache; past it, the cache starts over, so that
// principals of auth files reloaded long ago do not pile up.
const maxGrants = 4096

// New returns the layer over core.
func New(core tagwayv1.TaggingServiceServer, opts ...Option) *Service {
	s := &Service{core: core, grants: memo.New[*principals.Principal, tagging.Grant](maxGrants), inflight: overload.New(0), log: slog.New(slog.DiscardHandler), refused: func(string, string) {}}
	for _, o := range opts {
		o(s)
	}
	s.policyErrors = logevery.New(s.log, 10*time.Second)
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
	return s.grants.Get(p, func() tagging.Grant { return Grant(p) })
}

// call is one call as this layer sees it: its caller, the grant it runs
// under, and the policies in force when it began.
type call struct {
	caller   identity.Caller
	grant    tagging.Grant
	op       string
	policies *policy.Set // nil: none
}

// decider returns the Decider of c for the keys it removes or sets and the
// tags it sets.
func (c call) decider(keys []string, tags map[string]string) *policy.Decider {
	return c.policies.For(c.caller.Principal, c.caller.Surface, c.op, keys, tags)
}

// enter admits a call to op: it must carry a caller, fit in the bound on
// calls in flight and within its caller's rate limit. It returns the
// context the call runs in, under its caller's grant, and release, to call
// when it ends.
func (s *Service) enter(ctx context.Context, op string) (context.Context, call, func(), error) {
	c, ok := identity.FromContext(ctx)
	if !ok {
		st, _ := status.New(codes.Unauthenticated, "the call carries no authenticated caller").
			WithDetails(&errdetails.ErrorInfo{Reason: ReasonUnauthenticated, Domain: tagging.ErrorDomain})
		return nil, call{}, nil, st.Err()
	}
	ctx, c = callinfo.Fill(ctx, c)
	release, ok := s.inflight.Enter()
	if !ok {
		s.refused(op, tagging.ReasonOverloaded)
		return nil, call{}, nil, refusal(codes.Unavailable, tagging.ReasonOverloaded, overloadRetry,
			fmt.Sprintf("tagway has %d calls in flight, as many as it takes; retry later", s.inflight.Max()), map[string]string{"operation": op})
	}
	if s.quotas != nil {
		var overrides map[string]int
		if c.Principal != nil {
			overrides = c.Principal.RateLimits
		}
		if r := s.quotas.Take(ctx, c.Name(), overrides, op); !r.Allowed {
			release()
			s.refused(op, tagging.ReasonThrottled)
			return nil, call{}, nil, refusal(codes.ResourceExhausted, tagging.ReasonThrottled, r.RetryAfter,
				fmt.Sprintf("Rate exceeded: %s may call %s %d times a second; retry after %v", c.Name(), op, r.Limit, r.RetryAfter.Round(time.Millisecond)),
				map[string]string{"operation": op, "limit": strconv.Itoa(int(r.Limit))})
		}
	}
	cl := call{caller: c, grant: s.grant(c.Principal), op: op}
	if s.policies != nil {
		cl.policies = s.policies.Current()
	}
	return tagging.WithGrant(ctx, cl.grant), cl, release, nil
}

// overloadRetry is the retry delay an overloaded tagway suggests.
const overloadRetry = time.Second

// refusal is an error with ErrorInfo and, when retry is positive, RetryInfo.
func refusal(code codes.Code, reason string, retry time.Duration, msg string, md map[string]string) error {
	st := status.New(code, msg)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: tagging.ErrorDomain, Metadata: md}}
	if retry > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(retry)})
	}
	if d, err := st.WithDetails(details...); err == nil {
		st = d
	}
	return st.Err()
}

// run runs fn for a call to op under the caller's grant, with no decision
// per resource: the policies, if any, decide the call as a whole.
func run[Q proto.Message, R any](s *Service, ctx context.Context, op string, req Q, fn func(context.Context, Q) (R, error)) (R, error) {
	var none R
	ctx, c, release, err := s.enter(ctx, op)
	if err != nil {
		return none, err
	}
	defer release()
	if err := s.decideCall(ctx, c, req); err != nil {
		return none, err
	}
	return fn(ctx, req)
}

// decide asks the policies of c about resource (nil: the call as a whole),
// and logs the policies that failed to evaluate.
func (s *Service) decide(ctx context.Context, c call, dc *policy.Decider, resource *policy.Resource) policy.Decision {
	d := dc.Decide(resource)
	if len(d.Errors) > 0 {
		s.policyErrors.Log(ctx, slog.LevelWarn, "a policy failed to evaluate", slog.String("operation", c.op), slog.String("errors", strings.Join(d.Errors, "; ")))
	}
	return d
}

// deniedMessage says who may not do what, as IAM does.
func deniedMessage(c call, resource string, d policy.Decision) string {
	on := ""
	if resource != "" {
		on = " on " + resource
	}
	return fmt.Sprintf("%s is not authorized to perform %s%s: %s", c.caller.Name(), c.op, on, d.Reason)
}

// decideCall has the policies, if any, decide c as a whole. A denial is
// the call's error, and is audited.
func (s *Service) decideCall(ctx context.Context, c call, req proto.Message) error {
	if c.policies == nil {
		return nil
	}
	d := s.decide(ctx, c, c.decider(nil, nil), nil)
	if d.Allowed {
		return nil
	}
	s.refused(c.op, tagging.ReasonDeniedByPolicy)
	msg := deniedMessage(c, "", d)
	err := refusal(codes.PermissionDenied, tagging.ReasonDeniedByPolicy, 0, msg, map[string]string{"operation": c.op, "problem": msg})
	if s.auditor != nil {
		s.auditor.Call(ctx, req, nil, err)
	}
	return err
}

// UntagResources implements tagwayv1.TaggingServiceServer. The policies
// decide each resource; a denied one is a failure of that resource alone.
func (s *Service) UntagResources(ctx context.Context, req *tagwayv1.UntagResourcesRequest) (*tagwayv1.UntagResourcesResponse, error) {
	return audited(s, ctx, operation.UntagResources, req, s.untag)
}

func (s *Service) untag(ctx context.Context, c call, req *tagwayv1.UntagResourcesRequest) (*tagwayv1.UntagResourcesResponse, error) {
	if c.policies == nil {
		return s.core.UntagResources(ctx, req)
	}
	allowed, failed, err := s.decideChange(ctx, c, req.GetResources(), req.GetHomeRegion(), req.GetTagKeys(), nil)
	if err != nil {
		return nil, err
	}
	if len(failed) == 0 {
		return s.core.UntagResources(ctx, req)
	}
	resp := &tagwayv1.UntagResourcesResponse{}
	if len(allowed) > 0 {
		narrowed := proto.CloneOf(req)
		narrowed.Resources = allowed
		if resp, err = s.core.UntagResources(ctx, narrowed); err != nil {
			return nil, err
		}
	}
	resp.FailedResources = merge(resp.FailedResources, failed)
	return resp, nil
}

// TagResources implements tagwayv1.TaggingServiceServer. The policies
// decide each resource; a denied one is a failure of that resource alone.
func (s *Service) TagResources(ctx context.Context, req *tagwayv1.TagResourcesRequest) (*tagwayv1.TagResourcesResponse, error) {
	return audited(s, ctx, operation.TagResources, req, s.tag)
}

func (s *Service) tag(ctx context.Context, c call, req *tagwayv1.TagResourcesRequest) (*tagwayv1.TagResourcesResponse, error) {
	if c.policies == nil {
		return s.core.TagResources(ctx, req)
	}
	keys := slices.Sorted(maps.Keys(req.GetTags()))
	allowed, failed, err := s.decideChange(ctx, c, req.GetResources(), req.GetHomeRegion(), keys, req.GetTags())
	if err != nil {
		return nil, err
	}
	if len(failed) == 0 {
		return s.core.TagResources(ctx, req)
	}
	resp := &tagwayv1.TagResourcesResponse{}
	if len(allowed) > 0 {
		narrowed := proto.CloneOf(req)
		narrowed.Resources = allowed
		if resp, err = s.core.TagResources(ctx, narrowed); err != nil {
			return nil, err
		}
	}
	resp.FailedResources = merge(resp.FailedResources, failed)
	return resp, nil
}

// audited runs a call to op that changes tags, admitted by enter, and
// records it in the audit trail, refused or not.
func audited[Q, R proto.Message](s *Service, ctx context.Context, op string, req Q, fn func(context.Context, call, Q) (R, error)) (R, error) {
	var resp R
	inner, c, release, err := s.enter(ctx, op)
	if err == nil {
		ctx = inner
		resp, err = fn(inner, c, req)
		release()
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

// merge adds the failures of add to those of m.
func merge(m, add map[string]*tagwayv1.ResourceFailure) map[string]*tagwayv1.ResourceFailure {
	if m == nil {
		m = make(map[string]*tagwayv1.ResourceFailure, len(add))
	}
	maps.Copy(m, add)
	return m
}

// decideChange asks the policies about each resource of a change: it
// returns a failure for each denied one and, when there is one, those
// allowed. Names that do
// not parse are left to the core to refuse. When a policy reads the
// resources' current tags, they are read first, through the core, under the
// caller's grant; a change that lands between that read and the change
// itself is not seen (docs/policy.md).
func (s *Service) decideChange(ctx context.Context, c call, resources []string, home string, keys []string, tags map[string]string) ([]string, map[string]*tagwayv1.ResourceFailure, error) {
	dc := c.decider(keys, tags)
	var current map[string]map[string]string
	if dc.NeedsTags() {
		var err error
		if current, err = s.currentTags(ctx, resources, home); err != nil {
			return nil, nil, err
		}
	}
	// allowed is built from the first denial on: until then it is all of
	// resources so far, and most calls have no denial.
	var allowed []string
	var failed map[string]*tagwayv1.ResourceFailure
	checked := rules.CheckedOf(ctx)
	for i, name := range resources {
		r, ok := describe(checked, i, c.grant, name)
		var d policy.Decision
		if ok {
			r.Tags = current[name]
			d = s.decide(ctx, c, dc, &r)
		}
		if !ok || d.Allowed {
			if failed != nil {
				allowed = append(allowed, name)
			}
			continue
		}
		if failed == nil {
			failed = map[string]*tagwayv1.ResourceFailure{}
			allowed = append(make([]string, 0, len(resources)), resources[:i]...)
		}
		failed[name] = &tagwayv1.ResourceFailure{
			Reason:  tagwayv1.FailureReason_FAILURE_REASON_DENIED_BY_POLICY,
			Code:    int32(codes.PermissionDenied),
			Message: deniedMessage(c, name, d),
		}
	}
	return allowed, failed, nil
}

// currentTags reads the tags of resources through the core.
func (s *Service) currentTags(ctx context.Context, resources []string, home string) (map[string]map[string]string, error) {
	resp, err := s.core.GetResourceTags(ctx, &tagwayv1.GetResourceTagsRequest{Resources: resources, HomeRegion: home})
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]string, len(resp.GetResources()))
	for _, rt := range resp.GetResources() {
		out[rt.GetResource()] = tagMap(rt.GetTags())
	}
	return out, nil
}

func tagMap(tags []*tagwayv1.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.GetKey()] = t.GetValue()
	}
	return m
}

// describe returns what the policies see of the resource name: the fields
// of its name, with the account of the call's grant for names without one
// (the core refuses to let a caller change another account's). It reuses a
// name a dialect parsed already.
func describe(checked *rules.Checked, i int, g tagging.Grant, name string) (policy.Resource, bool) {
	n, ok := checked.Name(i, name)
	if !ok {
		var err error
		if n, err = arn.Parse(name); err != nil {
			return policy.Resource{}, false
		}
	}
	account := n.Account
	if account == "" {
		account = g.Owner
	}
	return policy.Resource{Name: name, Partition: n.Partition, Service: n.Service, Region: n.Region, Account: account, Type: n.Type()}, true
}

// GetResourceTags implements tagwayv1.TaggingServiceServer. A resource the
// policies do not let the caller read is left out, as one it may not see.
func (s *Service) GetResourceTags(ctx context.Context, req *tagwayv1.GetResourceTagsRequest) (*tagwayv1.GetResourceTagsResponse, error) {
	ctx, c, release, err := s.enter(ctx, operation.GetResourceTags)
	if err != nil {
		return nil, err
	}
	defer release()
	resp, err := s.core.GetResourceTags(ctx, req)
	if err != nil || c.policies == nil {
		return resp, err
	}
	resp.Resources = s.readable(ctx, c, resp.GetResources())
	return resp, nil
}

// ListResources implements tagwayv1.TaggingServiceServer. A resource the
// policies do not let the caller read is left out of the page.
func (s *Service) ListResources(ctx context.Context, req *tagwayv1.ListResourcesRequest) (*tagwayv1.ListResourcesResponse, error) {
	ctx, c, release, err := s.enter(ctx, operation.ListResources)
	if err != nil {
		return nil, err
	}
	defer release()
	resp, err := s.core.ListResources(ctx, req)
	if err != nil || c.policies == nil {
		return resp, err
	}
	resp.Resources = s.readable(ctx, c, resp.GetResources())
	return resp, nil
}

// readable returns the resources of in the policies let c read.
func (s *Service) readable(ctx context.Context, c call, in []*tagwayv1.ResourceTags) []*tagwayv1.ResourceTags {
	dc := c.decider(nil, nil)
	out := in[:0]
	for _, rt := range in {
		r, ok := describe(nil, -1, c.grant, rt.GetResource())
		if !ok {
			continue
		}
		if dc.NeedsTags() {
			r.Tags = tagMap(rt.GetTags())
		}
		if s.decide(ctx, c, dc, &r).Allowed {
			out = append(out, rt)
		}
	}
	return out
}

// CountResources implements tagwayv1.TaggingServiceServer; the policies
// decide the call as a whole.
func (s *Service) CountResources(ctx context.Context, req *tagwayv1.CountResourcesRequest) (*tagwayv1.CountResourcesResponse, error) {
	return run(s, ctx, operation.CountResources, req, s.core.CountResources)
}

// ListTagKeys implements tagwayv1.TaggingServiceServer; the policies decide
// the call as a whole.
func (s *Service) ListTagKeys(ctx context.Context, req *tagwayv1.ListTagKeysRequest) (*tagwayv1.ListTagKeysResponse, error) {
	return run(s, ctx, operation.ListTagKeys, req, s.core.ListTagKeys)
}

// ListTagValues implements tagwayv1.TaggingServiceServer; the policies
// decide the call as a whole.
func (s *Service) ListTagValues(ctx context.Context, req *tagwayv1.ListTagValuesRequest) (*tagwayv1.ListTagValuesResponse, error) {
	return run(s, ctx, operation.ListTagValues, req, s.core.ListTagValues)
}

// WatchTagChanges implements tagwayv1.TaggingServiceServer: the watch sees
// what the caller's grant lets it list, and the policies decide it as a
// whole when it opens. It counts against the caller's rate limit when it
// opens, not against the calls in flight while it lasts.
func (s *Service) WatchTagChanges(req *tagwayv1.WatchTagChangesRequest, stream grpc.ServerStreamingServer[tagwayv1.WatchTagChangesResponse]) error {
	ctx, c, release, err := s.enter(stream.Context(), operation.WatchTagChanges)
	if err != nil {
		return err
	}
	release()
	if err := s.decideCall(ctx, c, req); err != nil {
		return err
	}
	return s.core.WatchTagChanges(req, callinfo.Stream(ctx, stream))
}
