package e2e

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding/gzip"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// TestGRPCPagesFitADefaultClient fills 300 resources with the largest tags
// allowed (5.9 MB in all) and lists them with a default gRPC client (4 MiB
// receive limit) asking for more than the maximum page size, with gzip.
func TestGRPCPagesFitADefaultClient(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := core(t, tw)
		tags := map[string]string{}
		for j := range 50 {
			tags[fmt.Sprintf("%03d", j)+strings.Repeat("k", 125)] = strings.Repeat("v", 256)
		}
		var all []string
		for i := range 300 {
			all = append(all, fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%04d", i))
		}
		for i := 0; i < len(all); i += 100 {
			resp, err := c.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: all[i : i+100], Tags: tags}, grpc.UseCompressor(gzip.Name))
			if err != nil || len(resp.GetFailedResources()) != 0 {
				t.Fatalf("TagResources: %v, %v", resp, err)
			}
		}
		req := &tagwayv1.ListResourcesRequest{PageSize: 5000}
		seen, pages := 0, 0
		for {
			resp, err := c.ListResources(ctxT(t), req, grpc.UseCompressor(gzip.Name))
			if err != nil {
				t.Fatalf("page %d: %v", pages, err)
			}
			pages++
			for _, r := range resp.GetResources() {
				if len(r.GetTags()) != 50 {
					t.Fatalf("%s split: %d tags", r.GetResource(), len(r.GetTags()))
				}
				seen++
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		if seen != 300 || pages < 3 {
			t.Fatalf("%d resources in %d pages", seen, pages)
		}
	})
}
