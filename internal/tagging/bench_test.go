package tagging_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
)

// redisService returns the core over a Redis store on a redis-server of
// its own, both stopped when b ends.
func redisService(b *testing.B) *tagging.Service {
	srv := redistest.Run(b)
	st, err := redisstore.Open(context.Background(), srv.URL(), redisstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	svc, err := tagging.New(context.Background(), st, tagging.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

// BenchmarkListTagKeysManyTypes is the work-amplification case: 200 calls
// tag 100 resources each, every one of a type of its own, in one account
// and region; then each GetTagKeys-like call lists the account's keys. It
// uses only the core API, so that it runs on any version of the store.
func BenchmarkListTagKeysManyTypes(b *testing.B) {
	svc := redisService(b)
	ctx := context.Background()
	for call := range 200 {
		req := &tagwayv1.TagResourcesRequest{Tags: map[string]string{"env": "prod", fmt.Sprint("team", call%10): "x"}}
		for i := range 100 {
			req.Resources = append(req.Resources, fmt.Sprintf("arn:aws:ssm:us-east-1:111111111111:t%05d/r", call*100+i))
		}
		resp, err := svc.TagResources(ctx, req)
		if err != nil || len(resp.GetFailedResources()) > 0 {
			b.Fatalf("%v %v", resp, err)
		}
	}
	req := &tagwayv1.ListTagKeysRequest{Scopes: []*tagwayv1.ResourceScope{{Partitions: []string{"aws"}, Regions: []string{"us-east-1"}, Accounts: []string{"111111111111"}}}}
	for b.Loop() {
		resp, err := svc.ListTagKeys(ctx, req)
		if err != nil || len(resp.GetTagKeys()) != 11 {
			b.Fatalf("%v %v", resp, err)
		}
	}
}

// BenchmarkCountOUs counts 20 000 OUs of one organization the way the
// Huawei dialect's ShowResourceInstancesCount now does (CountResources,
// from the indexes), against reading them all, as it did before.
func BenchmarkCountOUs(b *testing.B) {
	svc := redisService(b)
	ctx := context.Background()
	for call := range 200 {
		req := &tagwayv1.TagResourcesRequest{Tags: map[string]string{"env": "prod"}}
		for i := range 100 {
			req.Resources = append(req.Resources, fmt.Sprintf("arn:huaweicloud:organizations::0123456789abcdef0123456789abcdef:ou/ou-%08d", call*100+i))
		}
		if resp, err := svc.TagResources(ctx, req); err != nil || len(resp.GetFailedResources()) > 0 {
			b.Fatalf("%v %v", resp, err)
		}
	}
	scope := []*tagwayv1.ResourceScope{{Partitions: []string{"huaweicloud"}, Services: []string{"organizations"}, Regions: []string{""}, Accounts: []string{"0123456789abcdef0123456789abcdef"}, ResourceTypes: []string{"ou"}}}
	filters := []*tagwayv1.TagFilter{{Key: "env", Values: []string{"prod"}}}
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			resp, err := svc.CountResources(ctx, &tagwayv1.CountResourcesRequest{Scopes: scope, TagFilters: filters})
			if err != nil || resp.GetCount() != 20000 {
				b.Fatalf("%v %v", resp, err)
			}
		}
	})
	b.Run("list-all", func(b *testing.B) {
		for b.Loop() {
			req := &tagwayv1.ListResourcesRequest{Scopes: scope, TagFilters: filters, PageSize: 1000}
			n := 0
			for {
				resp, err := svc.ListResources(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				n += len(resp.GetResources())
				if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
					break
				}
			}
			if n != 20000 {
				b.Fatal(n)
			}
		}
	})
}
