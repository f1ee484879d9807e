package aws

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/dialect/calltest"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// BenchmarkUntagResources compares an UntagResources of 20 ARNs through
// the AWS dialect (JSON in, X-Amz-Target routing, JSON out) with the same
// call made on the core directly: the ratio is the dialect's overhead. The
// request is not parsed from HTTP text, which is the server's work
// (package calltest).
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
		c := calltest.New(h, "/", http.Header{"X-Amz-Target": {TargetPrefix + "UntagResources"}}, body)
		b.ReportAllocs()
		for b.Loop() {
			if w := c.Call(); w.Code != http.StatusOK {
				b.Fatal(w.Code, string(w.Body))
			}
		}
	})
}

// BenchmarkGetResources lists, by a tag filter and in us-east-1, a store
// holding EC2 instances, S3 buckets and load balancers of every subtype:
// the resource-type and home-region rules at work on every name.
func BenchmarkGetResources(b *testing.B) {
	svc, err := tagging.New(context.Background(), memstore.New())
	if err != nil {
		b.Fatal(err)
	}
	h := New(svc, Auth{AllowRemote: true})
	const acct = "123456789012"
	var names []string
	for i := range 300 {
		names = append(names,
			fmt.Sprintf("arn:aws:ec2:us-east-1:%s:instance/i-%06d", acct, i),
			fmt.Sprintf("arn:aws:s3:::bucket-%06d", i),
			fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:%s:loadbalancer/%s/lb-%06d/%016x", acct, []string{"app", "net", "gwy"}[i%3], i, i),
		)
	}
	post := func(target, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", TargetPrefix+target)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/tagging/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature="+strings.Repeat("0", 64))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(target, w.Code, w.Body)
		}
		return w
	}
	for i := 0; i < len(names); i += 20 {
		post("TagResources", `{"ResourceARNList":["`+strings.Join(names[i:i+20], `","`)+`"],"Tags":{"env":"prod","team":"t`+fmt.Sprint(i%7)+`"}}`)
	}
	for _, tc := range []struct{ name, body string }{
		{"filter", `{"TagFilters":[{"Key":"team","Values":["t0"]}],"ResourcesPerPage":100}`},
		{"types", `{"ResourceTypeFilters":["s3:bucket","elasticloadbalancing:loadbalancer"],"ResourcesPerPage":100}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				post("GetResources", tc.body)
			}
		})
	}
}
