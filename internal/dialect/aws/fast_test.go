package aws

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	awsv1 "github.com/tagway/tagway/gen/go/tagway/aws/v1"
	"github.com/tagway/tagway/internal/dialect/gateway"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// TestFastPathTakes checks that the bodies the SDKs send take the fast
// path, and that those it must not take are left to the strict decoder.
func TestFastPathTakes(t *testing.T) {
	for _, tc := range []struct {
		body string
		msg  proto.Message
		want bool
	}{
		{`{"ResourceARNList":["arn:aws:s3:::b","arn:aws:s3:::c"],"TagKeys":["k"]}`, &awsv1.UntagResourcesRequest{}, true},
		{`{"ResourceARNList":["arn:aws:s3:::b"],"Tags":{"k":"v","é":""}}`, &awsv1.TagResourcesRequest{}, true},
		{`{}`, &awsv1.TagResourcesRequest{}, true},
		{`{"TagKeys":["a\u0062"]}`, &awsv1.UntagResourcesRequest{}, false},
		{`{"TagKeys":["a"],"Extra":1}`, &awsv1.UntagResourcesRequest{}, false},
		{`{"TagKeys":["a"]} x`, &awsv1.UntagResourcesRequest{}, false},
		{`{"Tags":{"k":"v","k":"w"}}`, &awsv1.TagResourcesRequest{}, false},
		{`{"TagKeys":["a"],"TagKeys":[]}`, &awsv1.UntagResourcesRequest{}, false},
		{"{\"TagKeys\":[\"\xff\"]}", &awsv1.UntagResourcesRequest{}, false},
		{`{"ResourceARNList":["a"]}`, &awsv1.GetResourcesRequest{}, false},
	} {
		if got := decodeFast([]byte(tc.body), tc.msg); got != tc.want {
			t.Errorf("decodeFast(%s) = %v, want %v", tc.body, got, tc.want)
		}
	}
	var untag awsv1.UntagResourcesRequest
	if !decodeFast([]byte(`{"ResourceARNList":["a","b"],"TagKeys":[]}`), &untag) || len(untag.GetResourceArnList()) != 2 || untag.GetResourceArnList()[1] != "b" {
		t.Errorf("decoded %v", &untag)
	}
	if b, ok := encodeFast(&awsv1.UntagResourcesResponse{}); !ok || string(b) != `{"FailedResourcesMap":{}}` {
		t.Errorf("encodeFast = %s, %v", b, ok)
	}
	if _, ok := encodeFast(&awsv1.TagResourcesResponse{FailedResourcesMap: map[string]*awsv1.FailureInfo{"a": {}}}); ok {
		t.Error("a failure took the fast path")
	}
}

// TestDirectMatchesMux sends TagResources and UntagResources, good and
// bad, along the direct route and through the mux, and checks that the
// answers are the same, byte for byte.
func TestDirectMatchesMux(t *testing.T) {
	svc, err := tagging.New(context.Background(), memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	h := New(svc, Auth{AllowRemote: true})
	const arn1 = "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
	serve := func(viaMux bool, op, body string, header http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", TargetPrefix+op)
		for k, v := range header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		if !viaMux {
			h.ServeHTTP(w, r)
			w.Header().Del("x-amzn-RequestId")
			return w
		}
		b, _ := gateway.ReadBody(r, MaxBodyBytes)
		caller, region, _ := h.auth.authenticate(r, b)
		ctx := identity.NewContext(r.Context(), caller)
		r = gateway.WithBody(r, context.WithValue(ctx, callKey{}, call{region: region, body: b}), b)
		r.URL.Path = targetPath + TargetPrefix + op
		h.mux.ServeHTTP(w, r)
		return w
	}
	signed := http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=AKID/20261126/us-west-2/tagging/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("0", 64)}}
	for _, tc := range []struct {
		op, body string
		header   http.Header
	}{
		{"TagResources", `{"ResourceARNList":["` + arn1 + `"],"Tags":{"k":"v"}}`, nil},
		{"UntagResources", `{"ResourceARNList":["` + arn1 + `"],"TagKeys":["k"]}`, nil},
		{"UntagResources", `{"ResourceARNList":["` + arn1 + `"],"TagKeys":["k"]}`, http.Header{"Te": {"trailers"}}},
		{"UntagResources", `{"ResourceARNList":["` + arn1 + `"],"TagKeys":["k"]}`, signed},
		{"UntagResources", `{"ResourceARNList":["arn:aws:s3:::b"],"TagKeys":["aws:k"]}`, nil},
		{"UntagResources", `{"ResourceARNList":["nope"],"TagKeys":["k"]}`, nil},
		{"UntagResources", `{"ResourceARNList":[],"TagKeys":["k"]}`, nil},
		{"UntagResources", ``, nil},
		{"UntagResources", `{"TagKeys":"k"}`, nil},
		{"UntagResources", `{"TagKeys":["k"]} x`, nil},
		{"TagResources", `{"ResourceARNList":["` + arn1 + `"],"Tags":{"k":null}}`, nil},
		{"TagResources", `{"ResourceARNList":["` + arn1 + `"],"Tags":{"aws:k":"v"}}`, nil},
		{"TagResources", `[1]`, nil},
	} {
		direct, mux := serve(false, tc.op, tc.body, tc.header), serve(true, tc.op, tc.body, tc.header)
		if direct.Code != mux.Code || direct.Body.String() != mux.Body.String() || !reflect.DeepEqual(direct.Header(), mux.Header()) {
			t.Errorf("%s %s: direct %d %v %s; mux %d %v %s", tc.op, tc.body, direct.Code, direct.Header(), direct.Body, mux.Code, mux.Header(), mux.Body)
		}
	}
}
