package access

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
)

// policy20 is a 20-statement policy of the kind an operator writes: a
// permit per team and operation group, key allow-lists, request-tag
// conditions and forbids on key prefixes, none reading resource tags.
func policy20() string {
	var b strings.Builder
	for i := range 8 {
		fmt.Fprintf(&b, `permit (principal == Tagway::Principal::"team-%d", action in Tagway::Action::"read", resource) when { resource is Tagway::Scope || resource.account == principal.account };`+"\n", i)
	}
	for i := range 6 {
		fmt.Fprintf(&b, `permit (principal == Tagway::Principal::"team-%d", action == Tagway::Action::"UntagResources", resource) when { resource.account == principal.account && ["k0", "k1", "k2", "k3", "k4", "owner-%d"].containsAll(context.tagKeys) };`+"\n", i, i)
	}
	fmt.Fprintf(&b, `permit (principal == Tagway::Principal::"team-a", action == Tagway::Action::"UntagResources", resource) when { resource.account == principal.account && resource.service == "ec2" };`+"\n")
	fmt.Fprintf(&b, `permit (principal, action == Tagway::Action::"TagResources", resource) when { context.requestTags has "env" && ["dev", "test"].contains(context.requestTags["env"]) };`+"\n")
	fmt.Fprintf(&b, `permit (principal, action, resource) when { principal.admin };`+"\n")
	for _, p := range []string{"compliance:", "aws:", "security:"} {
		fmt.Fprintf(&b, `forbid (principal, action == Tagway::Action::"UntagResources", resource) when { context.tagKey like "%s*" };`+"\n", p)
	}
	return b.String()
}

// BenchmarkUntagPolicy measures the untag path (20 resources, 5 keys a
// call) through this layer with no policy file, with policy20, and with
// policy20 plus one statement on resource tags (which makes every change
// read its resources' tags first), on each store. The ratios against
// "none" in the same run are what docs/policy.md quotes.
func BenchmarkUntagPolicy(b *testing.B) {
	stores := map[string]func(b *testing.B) tagstore.Store{
		"memory": func(b *testing.B) tagstore.Store { return memstore.New() },
		"redis": func(b *testing.B) tagstore.Store {
			srv := redistest.Run(b)
			st, err := redisstore.Open(context.Background(), srv.URL(), redisstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
	}
	for _, storeName := range []string{"memory", "redis"} {
		b.Run(storeName, func(b *testing.B) {
			st := stores[storeName](b)
			defer st.Close()
			core, err := tagging.New(context.Background(), st)
			if err != nil {
				b.Fatal(err)
			}
			req := &tagwayv1.UntagResourcesRequest{TagKeys: []string{"k0", "k1", "k2", "k3", "k4"}}
			for i := range 20 {
				req.Resources = append(req.Resources, fmt.Sprintf("arn:aws:ec2:us-east-1:%s:instance/i-%d", acctA, i))
			}
			ctx := asA(identity.SurfaceGRPC)
			for _, variant := range []struct{ name, policy string }{
				{"none", ""},
				{"policy20", policy20()},
				{"policy20+resource-tags", policy20() + `forbid (principal, action, resource) when { resource is Tagway::Resource && resource.hasTag("frozen") };`},
			} {
				b.Run(variant.name, func(b *testing.B) {
					var opts []Option
					if variant.policy != "" {
						opts = append(opts, WithPolicies(policies(b, variant.policy)))
					}
					s := New(core, opts...)
					for b.Loop() {
						resp, err := s.UntagResources(ctx, req)
						if err != nil || len(resp.GetFailedResources()) != 0 {
							b.Fatalf("%v %v", resp, err)
						}
					}
				})
			}
		})
	}
}
