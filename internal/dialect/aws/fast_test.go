package aws

import (
	"testing"

	"google.golang.org/protobuf/proto"

	awsv1 "github.com/tagway/tagway/gen/go/tagway/aws/v1"
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
