package gateway

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	awsv1 "github.com/tagway/tagway/gen/go/tagway/aws/v1"
)

func TestUnmarshalStrict(t *testing.T) {
	for _, tc := range []struct {
		body    string
		want    *awsv1.GetResourcesRequest // nil: a TypeError
		typeErr string                     // the member of the TypeError
	}{
		{`{"ResourceARNList":["a"],"TagFilters":[{"Key":"k","Values":["x"]}],"ResourcesPerPage":5,"IncludeComplianceDetails":true}`,
			&awsv1.GetResourcesRequest{ResourceArnList: []string{"a"}, TagFilters: []*awsv1.TagFilter{{Key: "k", Values: []string{"x"}}}, ResourcesPerPage: proto.Int32(5), IncludeComplianceDetails: true}, ""},
		// Proto names and other spellings are unknown members, ignored.
		{`{"resource_arn_list":["a"],"resourceARNList":["b"],"resources_per_page":"x"}`, &awsv1.GetResourcesRequest{}, ""},
		{`{"Unknown":{"deep":[1,{"x":null}]},"PaginationToken":null,"TagFilters":null}`, &awsv1.GetResourcesRequest{}, ""},
		{`{"ResourcesPerPage":0}`, &awsv1.GetResourcesRequest{ResourcesPerPage: proto.Int32(0)}, ""},
		{`{"ResourcesPerPage":"5"}`, nil, "ResourcesPerPage"},
		{`{"ResourcesPerPage":5.5}`, nil, "ResourcesPerPage"},
		{`{"ResourcesPerPage":1e3}`, nil, "ResourcesPerPage"},
		{`{"ResourcesPerPage":99999999999}`, nil, "ResourcesPerPage"},
		{`{"IncludeComplianceDetails":"true"}`, nil, "IncludeComplianceDetails"},
		{`{"PaginationToken":5}`, nil, "PaginationToken"},
		{`{"ResourceARNList":"a"}`, nil, "ResourceARNList"},
		{`{"ResourceARNList":["a",null]}`, nil, "ResourceARNList[1]"},
		{`{"ResourceARNList":[1]}`, nil, "ResourceARNList[0]"},
		{`{"TagFilters":[{"Key":1}]}`, nil, "TagFilters[0].Key"},
		{`{"TagFilters":{"Key":"k"}}`, nil, "TagFilters"},
		{`{"TagFilters":["k"]}`, nil, "TagFilters[0]"},
		{`["ResourceARNList"]`, nil, "the body"},
	} {
		var got awsv1.GetResourcesRequest
		err := UnmarshalStrict([]byte(tc.body), &got)
		if tc.want == nil {
			var te *TypeError
			if !errors.As(err, &te) || te.Member != tc.typeErr {
				t.Errorf("%s: error %v, want a TypeError for %s", tc.body, err, tc.typeErr)
			}
			continue
		}
		if err != nil || !proto.Equal(&got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.body, &got, err, tc.want)
		}
	}
	var tag awsv1.TagResourcesRequest
	if err := UnmarshalStrict([]byte(`{"Tags":{"a":"1","b":""}}`), &tag); err != nil || len(tag.GetTags()) != 2 || tag.GetTags()["b"] != "" {
		t.Errorf("map: %v, %v", tag.GetTags(), err)
	}
	var te *TypeError
	if err := UnmarshalStrict([]byte(`{"Tags":{"a":1}}`), &tag); !errors.As(err, &te) || te.Member != "Tags.a" {
		t.Errorf("map of a number: %v", err)
	}
}

func FuzzUnmarshalStrict(f *testing.F) {
	f.Add([]byte(`{"ResourceARNList":["a"],"TagFilters":[{"Key":"k","Values":["x"]}],"ResourcesPerPage":5}`))
	f.Add([]byte(`{"Tags":{"a":"1"}}`))
	f.Add([]byte(`[1,2,{"a":null}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var g awsv1.GetResourcesRequest
		_ = UnmarshalStrict(b, &g)
		var tg awsv1.TagResourcesRequest
		_ = UnmarshalStrict(b, &tg)
	})
}
