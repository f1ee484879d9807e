package tagging_test

import (
	"context"
	"slices"
	"testing"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
)

// grantOf returns a context acting as the given AWS account.
func accountCtx(account string) context.Context {
	return tagging.WithGrant(context.Background(), tagging.Grant{
		Scopes:  []arn.Scope{{Partitions: arn.AWSPartitions, Accounts: []string{account}}},
		Owner:   account,
		Subject: "account " + account,
	})
}

func TestGrant(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		a, b := accountCtx("111111111111"), accountCtx("222222222222")
		instA := "arn:aws:ec2:us-east-1:111111111111:instance/i-1"
		instB := "arn:aws:ec2:us-east-1:222222222222:instance/i-1"
		bucket := "arn:aws:s3:::shared-name"

		tag := func(ctx context.Context, resources ...string) (*tagwayv1.TagResourcesResponse, error) {
			return s.TagResources(ctx, tagReq(resources, "team", "x"))
		}
		if _, err := tag(a, instA, bucket); err != nil {
			t.Fatal(err)
		}
		// B may change neither A's ARN nor the bucket A owns, and a call
		// naming one changes nothing at all.
		for _, tc := range []struct {
			resources []string
			index     int
		}{{[]string{instB, instA}, 1}, {[]string{instB, bucket}, 1}} {
			_, err := tag(b, tc.resources...)
			wantInvalid(t, err, tagging.ReasonPermissionDenied, "resources", tc.index)
			_, err = s.UntagResources(b, &tagwayv1.UntagResourcesRequest{Resources: tc.resources, TagKeys: []string{"team"}})
			wantInvalid(t, err, tagging.ReasonPermissionDenied, "resources", tc.index)
		}
		if got, _ := s.GetResourceTags(context.Background(), &tagwayv1.GetResourceTagsRequest{Resources: []string{instB}}); len(got.GetResources()) != 0 {
			t.Fatalf("a refused call changed %s", instB)
		}

		// Reads leave out what the caller may not see, without an error.
		got, err := s.GetResourceTags(b, &tagwayv1.GetResourceTagsRequest{Resources: []string{instA, bucket}})
		if err != nil || len(got.GetResources()) != 0 {
			t.Fatalf("B reads A's resources: %v, %v", got, err)
		}
		got, err = s.GetResourceTags(a, &tagwayv1.GetResourceTagsRequest{Resources: []string{instA, bucket}})
		if err != nil || len(got.GetResources()) != 2 {
			t.Fatalf("A reads its resources: %v, %v", got, err)
		}
		if _, err := tag(b, instB); err != nil {
			t.Fatal(err)
		}
		list := func(ctx context.Context) []string {
			resp, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range resp.GetResources() {
				out = append(out, r.GetResource())
			}
			return out
		}
		// The bucket is in A's group without a region (aws::A), which sorts
		// before A's us-east-1 group.
		if got := list(a); !slices.Equal(got, []string{bucket, instA}) {
			t.Fatalf("A lists %v", got)
		}
		if got := list(b); !slices.Equal(got, []string{instB}) {
			t.Fatalf("B lists %v", got)
		}
		if got := list(context.Background()); len(got) != 3 {
			t.Fatalf("an unrestricted call lists %v", got)
		}
		keys, err := s.ListTagValues(b, &tagwayv1.ListTagValuesRequest{TagKey: "team"})
		if err != nil || !slices.Equal(keys.GetTagValues(), []string{"x"}) {
			t.Fatalf("B's values: %v, %v", keys, err)
		}
		// A restricted grant with no scope touches nothing.
		none := tagging.WithGrant(context.Background(), tagging.Grant{Subject: "nobody"})
		if got := list(none); len(got) != 0 {
			t.Fatalf("an empty grant lists %v", got)
		}
		_, err = tag(none, "arn:aws:ec2:us-east-1:333333333333:instance/i-1")
		wantInvalid(t, err, tagging.ReasonPermissionDenied, "resources", 0)

		// A page token earned by one caller is refused to another.
		for range 3 {
			mustTag(t, s, []string{"arn:aws:s3:::z-grant"}, "k", "v")
		}
		first, err := s.ListResources(context.Background(), &tagwayv1.ListResourcesRequest{PageSize: 1})
		if err != nil || first.GetNextPageToken() == "" {
			t.Fatalf("first page: %v, %v", first, err)
		}
		_, err = s.ListResources(a, &tagwayv1.ListResourcesRequest{PageSize: 1, PageToken: first.GetNextPageToken()})
		wantInvalid(t, err, tagging.ReasonInvalidPageToken, "page_token", -1)
	})
}

// blindGet hides every resource from Get, as a read made just before
// another account claimed them would.
type blindGet struct{ tagstore.Store }

func (blindGet) Get(context.Context, []arn.Name) ([]tagstore.Resource, error) { return nil, nil }

// TestGrantOwnerRace checks the owner that appears between the core's check
// and the change: the store refuses that resource alone.
func TestGrantOwnerRace(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) tagstore.Store) {
		st := newStore(t)
		s := newService(t, blindGet{st})
		bucket, other := "arn:aws:s3:::raced", "arn:aws:s3:::mine"
		if _, err := s.TagResources(accountCtx("111111111111"), tagReq([]string{bucket}, "k", "a")); err != nil {
			t.Fatal(err)
		}
		resp, err := s.TagResources(accountCtx("222222222222"), tagReq([]string{bucket, other}, "k", "b"))
		if err != nil {
			t.Fatal(err)
		}
		f := resp.GetFailedResources()
		if len(f) != 1 || f[bucket].GetReason() != tagwayv1.FailureReason_FAILURE_REASON_PERMISSION_DENIED {
			t.Fatalf("failures %v", f)
		}
		rs, err := st.Get(context.Background(), []arn.Name{mustName(t, bucket), mustName(t, other)})
		if err != nil || len(rs) != 2 || rs[0].Tags[0].Value != "a" || rs[0].Owner != "111111111111" || rs[1].Owner != "222222222222" {
			t.Fatalf("store holds %+v, %v", rs, err)
		}
	})
}

func mustName(t *testing.T, s string) arn.Name {
	t.Helper()
	n, err := arn.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
