package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	awsv1 "github.com/tagway/tagway/gen/go/tagway/aws/v1"
	"github.com/tagway/tagway/internal/dialect/gateway"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// FuzzHandler sends arbitrary operations and bodies and checks that every
// answer is a well-formed AWS response: never a panic, and never a 5xx, as
// the memory store does not fail.
func FuzzHandler(f *testing.F) {
	for _, seed := range []struct{ op, body string }{
		{"TagResources", `{"ResourceARNList":["arn:aws:s3:::b"],"Tags":{"k":"v"}}`},
		{"UntagResources", `{"ResourceARNList":["arn:aws:ec2:us-east-1:123456789012:instance/i-1"],"TagKeys":["k"]}`},
		{"GetResources", `{"TagFilters":[{"Key":"k","Values":["v"]}],"ResourcesPerPage":1}`},
		{"GetResources", `{"ResourceARNList":[],"ResourceTypeFilters":["s3:bucket"]}`},
		{"GetResources", `{"PaginationToken":"AQAAAAA"}`},
		{"GetTagKeys", ``},
		{"GetTagValues", `{"Key":"k"}`},
		{"GetComplianceSummary", `{}`},
		{"Nope", `[]`},
		{"TagResources", `{"Tags":{"k":null}} {}`},
	} {
		f.Add(seed.op, seed.body, "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/tagging/aws4_request")
	}
	svc, err := tagging.New(context.Background(), memstore.New())
	if err != nil {
		f.Fatal(err)
	}
	h := New(svc, Auth{AllowRemote: true})
	f.Fuzz(func(t *testing.T, op, body, auth string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", TargetPrefix+op)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", op, body, w.Code, w.Body)
		}
		if w.Header().Get("x-amzn-RequestId") == "" || w.Header().Get("Content-Type") != ContentType {
			t.Fatalf("headers %v", w.Header())
		}
		if w.Code != http.StatusOK {
			var e struct {
				Type    string `json:"__type"`
				Message string
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Type == "" || e.Type != w.Header().Get("X-Amzn-ErrorType") {
				t.Fatalf("error body %q: %v", w.Body, err)
			}
		} else if !json.Valid(bytes.TrimSpace(w.Body.Bytes())) {
			t.Fatalf("success body %q is not JSON", w.Body)
		}
	})
}

// FuzzDecodeFast checks the fast path of TagResources and UntagResources
// against the strict decoder it stands in for: a body it takes decodes to
// the same request there, and one it declines is left to it.
func FuzzDecodeFast(f *testing.F) {
	f.Add([]byte(`{"ResourceARNList":["arn:aws:ec2:us-east-1:123456789012:instance/i-1"],"TagKeys":["k","ключ"]}`))
	f.Add([]byte(` {"Tags" : {"k":"v","a":""} ,"ResourceARNList":[ ]}` + "\n"))
	f.Add([]byte(`{"TagKeys":["a\"b"]}`))
	f.Add([]byte(`{"Tags":{"k":"v","k":"w"}}`))
	f.Add([]byte(`{"TagKeys":["a"],"TagKeys":["b"]}`))
	f.Add([]byte(`{"TagKeys":null,"Other":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, pair := range [][2]proto.Message{
			{&awsv1.UntagResourcesRequest{}, &awsv1.UntagResourcesRequest{}},
			{&awsv1.TagResourcesRequest{}, &awsv1.TagResourcesRequest{}},
		} {
			fast, strict := pair[0], pair[1]
			if !decodeFast(b, fast) {
				continue
			}
			if err := gateway.UnmarshalStrict(b, strict); err != nil || !proto.Equal(fast, strict) {
				t.Fatalf("%q: fast path %v, strict decoder %v, %v", b, fast, strict, err)
			}
		}
	})
}
