package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
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

// TestUnmarshalStrictBoundsItems checks that lists, maps and objects of
// more than MaxItems entries are refused while decoding, so that a 4 MB
// body of tiny items never becomes a million decoded values.
func TestUnmarshalStrictBoundsItems(t *testing.T) {
	many := func(open, item, close string, n int) []byte {
		var b strings.Builder
		b.WriteString(open)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.ReplaceAll(item, "N", strconv.Itoa(i)))
		}
		b.WriteString(close)
		return []byte(b.String())
	}
	for _, body := range [][]byte{
		many(`{"ResourceARNList":[`, `"a"`, `]}`, MaxItems+1),
		many(`{"TagFilters":[`, `{"Key":"k"}`, `]}`, 200000),
		many(`{`, `"xN":1`, `}`, MaxItems+1),
	} {
		err := UnmarshalStrict(body, &awsv1.GetResourcesRequest{})
		var te *TypeError
		if !errors.As(err, &te) || !strings.Contains(te.Want, "at most 1000") {
			t.Fatalf("%d bytes: %v", len(body), err)
		}
	}
	var req awsv1.GetResourcesRequest
	if err := UnmarshalStrict(many(`{"ResourceARNList":[`, `"a"`, `]}`, MaxItems), &req); err != nil || len(req.GetResourceArnList()) != MaxItems {
		t.Fatalf("%d items: %v", len(req.GetResourceArnList()), err)
	}
	// A member given twice: the last counts, lists included.
	if err := UnmarshalStrict([]byte(`{"ResourceARNList":["a"],"ResourceARNList":["b","c"]}`), &req); err != nil || strings.Join(req.GetResourceArnList(), ",") != "b,c" {
		t.Fatalf("twice: %v, %v", req.GetResourceArnList(), err)
	}
	if err := UnmarshalStrict([]byte(`{"ResourceARNList":["a"]`), &req); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

// FuzzEachElement checks the splitter UnmarshalStrict walks objects and
// arrays with against encoding/json: the same members (the last of a
// repeated name winning) and the same items, byte for byte once compacted.
func FuzzEachElement(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"}"}],"c":"x\"y","a":2}`))
	f.Add([]byte(`[ "a\\" , {"k":[[]]}, 1e3, null ]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		compact := func(v []byte) string {
			var buf bytes.Buffer
			if err := json.Compact(&buf, v); err != nil {
				t.Fatalf("element %q is not JSON: %v", v, err)
			}
			return buf.String()
		}
		switch bytes.TrimSpace(b)[0] {
		case '{':
			var want map[string]json.RawMessage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			err := eachMember(b, "", func(name string, v json.RawMessage) error {
				got[name] = compact(v)
				return nil
			})
			if err != nil {
				return // more than MaxItems
			}
			if len(got) != len(want) {
				t.Fatalf("%q: %d members, encoding/json finds %d", b, len(got), len(want))
			}
			for k, v := range want {
				if got[k] != compact(v) {
					t.Fatalf("%q: member %q = %q, encoding/json says %q", b, k, got[k], compact(v))
				}
			}
		case '[':
			var want []json.RawMessage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := eachItem(b, "", func(_ int, v json.RawMessage) error {
				got = append(got, compact(v))
				return nil
			}); err != nil {
				return
			}
			if len(got) != len(want) {
				t.Fatalf("%q: %d items, encoding/json finds %d", b, len(got), len(want))
			}
			for i := range want {
				if got[i] != compact(want[i]) {
					t.Fatalf("%q: item %d = %q, encoding/json says %q", b, i, got[i], compact(want[i]))
				}
			}
		}
	})
}

// FuzzJSONString checks the fast path of string decoding against
// encoding/json.
func FuzzJSONString(f *testing.F) {
	f.Add([]byte(`"arn:aws:s3:::b"`))
	f.Add([]byte(`"a\"b"`))
	f.Add([]byte("\"\xff\""))
	f.Fuzz(func(t *testing.T, b []byte) {
		var want string
		wantErr := json.Unmarshal(b, &want)
		if wantErr != nil || !json.Valid(b) || len(bytes.TrimSpace(b)) == 0 || bytes.TrimSpace(b)[0] != '"' {
			return
		}
		got, err := jsonString(b)
		if err != nil || got != want {
			t.Fatalf("jsonString(%q) = %q, %v; encoding/json says %q", b, got, err, want)
		}
	})
}
