package access

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

func TestService(t *testing.T) {
	store := memstore.New()
	defer store.Close()
	core, err := tagging.New(context.Background(), store, tagging.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	s := New(core)
	as := func(p *principals.Principal) context.Context {
		return identity.NewContext(context.Background(), identity.Caller{Principal: p, Surface: identity.SurfaceGRPC})
	}
	teamA := &principals.Principal{Name: "team-a", AWS: &principals.AWS{Account: "111111111111"},
		Huawei: &principals.Huawei{DomainID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}}
	teamB := &principals.Principal{Name: "team-b", AWS: &principals.AWS{Account: "222222222222"}}
	ops := &principals.Principal{Name: "ops", Admin: true}
	hw := &principals.Principal{Name: "hw-only", Huawei: &principals.Huawei{DomainID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}}

	ou := "arn:huaweicloud:organizations::0a1b2c3d4e5f60718293a4b5c6d7e8f9:ou/ou-1"
	tag := func(ctx context.Context, resources ...string) error {
		_, err := s.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: resources, Tags: map[string]string{"k": "v"}})
		return err
	}
	for _, tc := range []struct {
		who      context.Context
		resource string
		code     codes.Code
	}{
		{context.Background(), "arn:aws:s3:::nobody", codes.Unauthenticated},
		{as(teamA), "arn:aws:ec2:us-east-1:111111111111:instance/i-1", codes.OK},
		{as(teamA), "arn:aws:s3:::bucket-a", codes.OK},
		{as(teamA), ou, codes.OK},
		{as(teamA), "arn:aws:ec2:us-east-1:222222222222:instance/i-1", codes.PermissionDenied},
		{as(teamA), "arn:huaweicloud:organizations::ffffffffffffffffffffffffffffffff:ou/ou-1", codes.PermissionDenied},
		{as(teamA), "arn:other:svc:r:111111111111:x/y", codes.PermissionDenied},
		{as(teamB), "arn:aws:s3:::bucket-a", codes.PermissionDenied},
		{as(teamB), ou, codes.PermissionDenied},
		{as(hw), "arn:aws:s3:::bucket-h", codes.PermissionDenied},
		{as(hw), ou, codes.OK},
		{as(ops), "arn:aws:ec2:us-east-1:333333333333:instance/i-1", codes.OK},
		{as(nil), "arn:aws:ec2:us-east-1:444444444444:instance/i-1", codes.OK},
	} {
		if got := status.Code(tag(tc.who, tc.resource)); got != tc.code {
			t.Errorf("%v tagging %s: %v, want %v", identityName(tc.who), tc.resource, got, tc.code)
		}
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
	if got := list(as(teamB)); len(got) != 0 {
		t.Errorf("team-b lists %v", got)
	}
	if got := list(as(hw)); !slices.Equal(got, []string{ou}) {
		t.Errorf("hw-only lists %v", got)
	}
	if got := list(as(ops)); len(got) != 5 {
		t.Errorf("ops lists %v", got)
	}
	if got := list(as(teamA)); len(got) != 3 {
		t.Errorf("team-a lists %v", got)
	}
}

func identityName(ctx context.Context) string {
	c, ok := identity.FromContext(ctx)
	if !ok {
		return "no caller"
	}
	return c.Name()
}
