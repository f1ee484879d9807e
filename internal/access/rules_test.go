package access

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/operation"
	"github.com/tagway/tagway/internal/policy"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/quota"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

const acctA = "111111111111"

var teamA = &principals.Principal{Name: "team-a", AWS: &principals.AWS{Account: acctA}}

func instance(id string) string { return "arn:aws:ec2:us-east-1:" + acctA + ":instance/" + id }

func asA(surface string) context.Context {
	return identity.NewContext(context.Background(), identity.Caller{Principal: teamA, Surface: surface})
}

// newCore returns the core over a fresh memory store.
func newCore(t *testing.T) (tagwayv1.TaggingServiceServer, tagstore.Store) {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	core, err := tagging.New(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	return core, store
}

// policies writes src to a file and opens it.
func policies(t testing.TB, src string) *policy.Source {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.cedar")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const teamPolicy = `
permit (principal, action in Tagway::Action::"read", resource)
when { !(resource is Tagway::Resource) || !resource.hasTag("secret") };
permit (principal, action == Tagway::Action::"TagResources", resource)
when { context.requestTags has "env" && context.requestTags["env"] == "dev" };
permit (principal, action == Tagway::Action::"UntagResources", resource)
when { resource.hasTag("env") && resource.getTag("env") == "dev" };
forbid (principal, action, resource) when { context.tagKey like "compliance:*" };
`

func TestPoliciesPerResource(t *testing.T) {
	core, _ := newCore(t)
	// Set up the resources as an unrestricted caller of the core.
	for id, env := range map[string]string{"i-dev": "dev", "i-prod": "prod"} {
		if _, err := core.TagResources(context.Background(), &tagwayv1.TagResourcesRequest{Resources: []string{instance(id)}, Tags: map[string]string{"env": env, "owner": "a"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := core.TagResources(context.Background(), &tagwayv1.TagResourcesRequest{Resources: []string{instance("i-secret")}, Tags: map[string]string{"secret": "yes"}}); err != nil {
		t.Fatal(err)
	}
	s := New(core, WithPolicies(policies(t, teamPolicy)))
	ctx := asA(identity.SurfaceGRPC)

	// Untag: allowed on the dev resource only; the other fails alone.
	resp, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{instance("i-dev"), instance("i-prod")}, TagKeys: []string{"owner"}})
	if err != nil {
		t.Fatal(err)
	}
	f := resp.GetFailedResources()
	if len(f) != 1 || f[instance("i-prod")].GetReason() != tagwayv1.FailureReason_FAILURE_REASON_DENIED_BY_POLICY ||
		codes.Code(f[instance("i-prod")].GetCode()) != codes.PermissionDenied ||
		!strings.Contains(f[instance("i-prod")].GetMessage(), `team-a is not authorized to perform UntagResources on `+instance("i-prod")) {
		t.Fatalf("failures %v", f)
	}
	tags := func(id string) map[string]string {
		r, err := core.GetResourceTags(context.Background(), &tagwayv1.GetResourceTagsRequest{Resources: []string{instance(id)}})
		if err != nil || len(r.GetResources()) != 1 {
			t.Fatalf("%s: %v %v", id, r, err)
		}
		return tagMap(r.GetResources()[0].GetTags())
	}
	if _, ok := tags("i-dev")["owner"]; ok {
		t.Fatal("the allowed resource kept its tag")
	}
	if tags("i-prod")["owner"] != "a" {
		t.Fatal("the denied resource lost its tag")
	}
	// Every resource denied: answered with the denials, nothing changed.
	resp, err = s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{instance("i-prod")}, TagKeys: []string{"env"}})
	if err != nil || len(resp.GetFailedResources()) != 1 || tags("i-prod")["env"] != "prod" {
		t.Fatalf("%v %v %v", resp, err, tags("i-prod"))
	}
	// A forbid on one key denies the resource, whatever the other keys.
	resp, err = s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{instance("i-dev")}, TagKeys: []string{"env", "compliance:pci"}})
	if err != nil || !strings.Contains(resp.GetFailedResources()[instance("i-dev")].GetMessage(), `for the key "compliance:pci"`) {
		t.Fatalf("%v %v", resp, err)
	}
	// Tag: the requested tags decide.
	tresp, err := s.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: []string{instance("i-new")}, Tags: map[string]string{"env": "dev"}})
	if err != nil || len(tresp.GetFailedResources()) != 0 {
		t.Fatalf("%v %v", tresp, err)
	}
	tresp, err = s.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: []string{instance("i-new")}, Tags: map[string]string{"env": "prod"}})
	if err != nil || len(tresp.GetFailedResources()) != 1 || tags("i-new")["env"] != "dev" {
		t.Fatalf("%v %v", tresp, err)
	}
	// A request the core refuses is still refused whole.
	if _, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{instance("i-dev"), "not an arn"}, TagKeys: []string{"x"}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a bad name: %v", err)
	}

	// Reads leave out what the caller may not read.
	list, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list.GetResources() {
		names = append(names, r.GetResource())
	}
	if slices.Contains(names, instance("i-secret")) || !slices.Contains(names, instance("i-prod")) {
		t.Fatalf("listed %v", names)
	}
	got, err := s.GetResourceTags(ctx, &tagwayv1.GetResourceTagsRequest{Resources: []string{instance("i-secret"), instance("i-dev")}})
	if err != nil || len(got.GetResources()) != 1 || got.GetResources()[0].GetResource() != instance("i-dev") {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := s.ListTagKeys(ctx, &tagwayv1.ListTagKeysRequest{}); err != nil {
		t.Fatalf("ListTagKeys: %v", err)
	}
}

func TestPoliciesWholeCall(t *testing.T) {
	core, _ := newCore(t)
	s := New(core, WithPolicies(policies(t, `permit (principal, action == Tagway::Action::"ListResources", resource);`)))
	_, err := s.ListTagKeys(asA(identity.SurfaceAWS), &tagwayv1.ListTagKeysRequest{})
	info := tagging.Info(err)
	if status.Code(err) != codes.PermissionDenied || info.GetReason() != tagging.ReasonDeniedByPolicy || info.GetMetadata()["operation"] != operation.ListTagKeys ||
		!strings.Contains(status.Convert(err).Message(), "team-a is not authorized to perform ListTagKeys: no policy permits it") {
		t.Fatalf("%v (%v)", err, info)
	}
	if _, err := s.ListResources(asA(identity.SurfaceAWS), &tagwayv1.ListResourcesRequest{}); err != nil {
		t.Fatal(err)
	}
}

func TestThrottled(t *testing.T) {
	core, _ := newCore(t)
	s := New(core, WithQuotas(quota.New(quota.AWS, quota.NewLocal())))
	ctx := asA(identity.SurfaceHuawei)
	var err error
	for range 6 {
		if _, err = s.ListTagKeys(ctx, &tagwayv1.ListTagKeysRequest{}); err != nil {
			break
		}
	}
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || tagging.Info(err).GetReason() != tagging.ReasonThrottled || tagging.Info(err).GetMetadata()["limit"] != "5" {
		t.Fatalf("6th call: %v", err)
	}
	if d := tagging.RetryDelay(err); d <= 0 || d > 200*time.Millisecond {
		t.Fatalf("RetryInfo %v", d)
	}
	var hasRetry bool
	for _, d := range st.Details() {
		_, hasRetry = d.(*errdetails.RetryInfo)
		if hasRetry {
			break
		}
	}
	if !hasRetry {
		t.Fatal("no RetryInfo")
	}
	// Anonymous callers share one limit.
	anon := identity.NewContext(context.Background(), identity.Caller{Surface: identity.SurfaceGRPC})
	for range 5 {
		if _, err := s.ListTagValues(anon, &tagwayv1.ListTagValuesRequest{TagKey: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	anon2 := identity.NewContext(context.Background(), identity.Caller{Surface: identity.SurfaceAWS, Peer: "other"})
	if _, err := s.ListTagValues(anon2, &tagwayv1.ListTagValuesRequest{TagKey: "k"}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a second anonymous caller: %v", err)
	}
}

// slowCore blocks each ListTagKeys until released.
type slowCore struct {
	tagwayv1.TaggingServiceServer
	entered chan struct{}
	release chan struct{}
}

func (c slowCore) ListTagKeys(ctx context.Context, req *tagwayv1.ListTagKeysRequest) (*tagwayv1.ListTagKeysResponse, error) {
	c.entered <- struct{}{}
	<-c.release
	return &tagwayv1.ListTagKeysResponse{}, nil
}

func TestOverloadSheds(t *testing.T) {
	core, _ := newCore(t)
	slow := slowCore{TaggingServiceServer: core, entered: make(chan struct{}, 8), release: make(chan struct{})}
	s := New(slow, WithMaxInflight(4))
	ctx := asA(identity.SurfaceGRPC)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := s.ListTagKeys(ctx, &tagwayv1.ListTagKeysRequest{}); err != nil {
				t.Error(err)
			}
		})
	}
	for range 4 {
		<-slow.entered
	}
	// Four in flight: the next calls are refused at once, whatever they are.
	for range 4 {
		_, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{})
		if status.Code(err) != codes.Unavailable || tagging.Info(err).GetReason() != tagging.ReasonOverloaded || tagging.RetryDelay(err) != time.Second {
			t.Fatalf("over the bound: %v", err)
		}
	}
	close(slow.release)
	wg.Wait()
	if _, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{}); err != nil {
		t.Fatalf("after the calls ended: %v", err)
	}
}

// recorder is an Auditor that keeps what it is told.
type recorder struct {
	Auditor
	mu    sync.Mutex
	calls []string
}

func (r *recorder) Call(ctx context.Context, req, resp proto.Message, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%T %v", req, status.Code(err)))
}

func TestDenialsAudited(t *testing.T) {
	core, _ := newCore(t)
	rec := &recorder{}
	s := New(core, WithAudit(rec), WithPolicies(policies(t, `permit (principal, action == Tagway::Action::"ListResources", resource);`)))
	ctx := asA(identity.SurfaceGRPC)
	if _, err := s.ListTagKeys(ctx, &tagwayv1.ListTagKeysRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatal(err)
	}
	resp, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{instance("i-1")}, TagKeys: []string{"k"}})
	if err != nil || len(resp.GetFailedResources()) != 1 {
		t.Fatalf("%v %v", resp, err)
	}
	if _, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"*tagwayv1.ListTagKeysRequest PermissionDenied", "*tagwayv1.UntagResourcesRequest OK"}
	if !slices.Equal(rec.calls, want) {
		t.Fatalf("audited %q, want %q", rec.calls, want)
	}
}
