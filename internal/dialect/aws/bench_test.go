package aws

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// BenchmarkUntagResources compares an UntagResources of 20 ARNs through
// the AWS dialect (JSON in, X-Amz-Target routing, JSON out) with the same
// call made on the core directly: the ratio is the dialect's overhead.
func BenchmarkUntagResources(b *testing.B) {
	svc, err := tagging.New(context.Background(), memstore.New())
	if err != nil {
		b.Fatal(err)
	}
	var arns []string
	for i := range 20 {
		arns = append(arns, fmt.Sprintf("arn:aws:ec2:us-east-1:123456789012:instance/i-%d", i))
	}
	if _, err := svc.TagResources(context.Background(), &tagwayv1.TagResourcesRequest{Resources: arns, Tags: map[string]string{"a": "1", "b": "2"}}); err != nil {
		b.Fatal(err)
	}
	b.Run("core", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.UntagResources(context.Background(), &tagwayv1.UntagResourcesRequest{Resources: arns, TagKeys: []string{"absent"}, Limits: limits}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("aws", func(b *testing.B) {
		h := New(svc, Auth{AllowRemote: true})
		body := `{"ResourceARNList":["` + strings.Join(arns, `","`) + `"],"TagKeys":["absent"]}`
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("X-Amz-Target", TargetPrefix+"UntagResources")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code, w.Body)
			}
		}
	})
}
