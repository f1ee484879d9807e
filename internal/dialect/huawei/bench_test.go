package huawei

import (
	"context"
	"net/http"
	"testing"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/dialect/calltest"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// BenchmarkUntagResource compares an UntagResource through the Huawei
// dialect with the same call made on the core directly; the request is not
// parsed from HTTP text (package calltest).
func BenchmarkUntagResource(b *testing.B) {
	svc, err := tagging.New(context.Background(), memstore.New())
	if err != nil {
		b.Fatal(err)
	}
	name := canonicalPrefix("") + "ou/ou-1"
	if _, err := svc.TagResources(context.Background(), &tagwayv1.TagResourcesRequest{Resources: []string{name}, Tags: map[string]string{"a": "1"}}); err != nil {
		b.Fatal(err)
	}
	b.Run("core", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.UntagResources(context.Background(), &tagwayv1.UntagResourcesRequest{Resources: []string{name}, TagKeys: []string{"absent"}, Limits: limits}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("huawei", func(b *testing.B) {
		h := New(svc, Auth{AllowRemote: true})
		c := calltest.New(h, PathPrefix+"resources/ou-1/untag", http.Header{"Content-Type": {"application/json"}}, `{"tag_keys":["absent"]}`)
		b.ReportAllocs()
		for b.Loop() {
			if w := c.Call(); w.Code != http.StatusOK {
				b.Fatal(w.Code, string(w.Body))
			}
		}
	})
}
