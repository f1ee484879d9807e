package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/global"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	org "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// huaweiClient is an unmodified SDK client pointed at tw.
func huaweiClient(t *testing.T, tw *tagwaytest.Proc) *org.OrganizationsClient {
	t.Helper()
	cred, err := global.NewCredentialsBuilder().WithAk("HPUAEXAMPLEAK").WithSk("exampleSecretKey").SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := org.OrganizationsClientBuilder().WithEndpoints([]string{tw.URL()}).WithCredential(cred).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return org.NewOrganizationsClient(hc)
}

const (
	ou1     = "ou-taowxgy4xbme6m4x3c2iijbxw7yj8fcw"
	ou2     = "ou-2"
	ou3     = "ou-3"
	root    = "r-root1"
	account = "05261f923e80d3890f33c0056e9b3f80"
	policy  = "p-Policy_1"
)

func hwTags(kv ...string) []model.TagDto {
	var out []model.TagDto
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, model.TagDto{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

func tagHW(t *testing.T, c *org.OrganizationsClient, id string, kv ...string) {
	t.Helper()
	resp, err := c.TagResource(&model.TagResourceRequest{ResourceId: id, Body: &model.TagResourceReqBody{Tags: hwTags(kv...)}})
	if err != nil {
		t.Fatalf("TagResource(%s): %v", id, err)
	}
	if resp.HttpStatusCode != 200 {
		t.Fatalf("TagResource status %d", resp.HttpStatusCode)
	}
}

// listHW pages through ListTagsForResource with limit and returns "k=v".
func listHW(t *testing.T, c *org.OrganizationsClient, id string, limit int32) []string {
	t.Helper()
	var out []string
	req := &model.ListTagsForResourceRequest{ResourceId: id, Limit: &limit}
	for range 100 {
		resp, err := c.ListTagsForResource(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Tags == nil || resp.PageInfo == nil || resp.PageInfo.CurrentCount == nil || int(*resp.PageInfo.CurrentCount) != len(*resp.Tags) || len(*resp.Tags) > int(limit) {
			t.Fatalf("ListTagsForResource = %+v", resp)
		}
		for _, tg := range *resp.Tags {
			out = append(out, tg.Key+"="+tg.Value)
		}
		if resp.PageInfo.NextMarker == "" {
			return out
		}
		req.Marker = &resp.PageInfo.NextMarker
	}
	t.Fatal("paging does not end")
	return nil
}

// wantHWError checks an SDK error's status and code, and that it carries the
// request id.
func wantHWError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || se.StatusCode != status || se.ErrorCode != code || se.ErrorMessage == "" || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(se.RequestId) {
		t.Fatalf("error %v, want %d %s with a message and request id", err, status, code)
	}
}

func TestHuaweiTagUntagList(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := huaweiClient(t, tw)
		tagHW(t, c, ou1, "env", "prod", "team", "a", "empty", "")
		for _, limit := range []int32{1, 2, 200} {
			if got := listHW(t, c, ou1, limit); strings.Join(got, ",") != "empty=,env=prod,team=a" {
				t.Fatalf("limit %d: %v", limit, got)
			}
		}
		for range 2 { // untag is idempotent
			resp, err := c.UntagResource(&model.UntagResourceRequest{ResourceId: ou1, Body: &model.UntagResourceReqBody{TagKeys: []string{"team", "absent"}}})
			if err != nil || resp.HttpStatusCode != 200 {
				t.Fatal(resp, err)
			}
		}
		if _, err := c.UntagResource(&model.UntagResourceRequest{ResourceId: ou2, Body: &model.UntagResourceReqBody{TagKeys: []string{"k"}}}); err != nil {
			t.Fatalf("untag of a never-tagged resource: %v", err)
		}
		tagHW(t, c, ou1, "env", "dev")
		if got := listHW(t, c, ou1, 200); strings.Join(got, ",") != "empty=,env=dev" {
			t.Fatalf("after untag and overwrite: %v", got)
		}
		if got := listHW(t, c, ou2, 10); len(got) != 0 {
			t.Fatalf("a never-tagged resource has %v", got)
		}

		// The type-scoped calls, on every type.
		for _, tc := range []struct {
			id  string
			typ string
		}{{root, "organizations:roots"}, {ou3, "organizations:ous"}, {account, "organizations:accounts"}, {policy, "organizations:policies"}} {
			var ct model.CreateTagResourceRequestResourceType
			_ = ct.UnmarshalJSON([]byte(`"` + tc.typ + `"`))
			if _, err := c.CreateTagResource(&model.CreateTagResourceRequest{ResourceType: ct, ResourceId: tc.id, Body: &model.TagResourceReqBody{Tags: hwTags("a", "1", "b", "2", "c", "3")}}); err != nil {
				t.Fatalf("CreateTagResource(%s): %v", tc.typ, err)
			}
			var lt model.ListTagResourcesRequestResourceType
			_ = lt.UnmarshalJSON([]byte(`"` + tc.typ + `"`))
			resp, err := c.ListTagResources(&model.ListTagResourcesRequest{ResourceType: lt, ResourceId: tc.id})
			if err != nil || len(*resp.Tags) != 3 || resp.PageInfo.NextMarker != "" {
				t.Fatalf("ListTagResources(%s): %v, %v", tc.typ, resp, err)
			}
			var dt model.DeleteTagResourceRequestResourceType
			_ = dt.UnmarshalJSON([]byte(`"` + tc.typ + `"`))
			// a goes whatever its value, b only with the right value, c not
			// with a wrong one.
			if _, err := c.DeleteTagResource(&model.DeleteTagResourceRequest{ResourceType: dt, ResourceId: tc.id, Body: &model.TagResourceReqBody{Tags: hwTags("a", "", "b", "2", "c", "wrong")}}); err != nil {
				t.Fatalf("DeleteTagResource(%s): %v", tc.typ, err)
			}
			if got := listHW(t, c, tc.id, 5); strings.Join(got, ",") != "c=3" {
				t.Fatalf("%s after DeleteTagResource: %v", tc.typ, got)
			}
			_, err = c.DeleteTagResource(&model.DeleteTagResourceRequest{ResourceType: dt, ResourceId: tc.id, Body: &model.TagResourceReqBody{Tags: hwTags("ok", "", "_sys_x", "")}})
			var se *sdkerr.ServiceResponseError
			if !errors.As(err, &se) || se.StatusCode != 400 || !strings.HasPrefix(se.ErrorMessage, "tags[1]: ") {
				t.Fatalf("DeleteTagResource with a reserved key: %v", err)
			}
		}
	})
}

func TestHuaweiLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := huaweiClient(t, tw)
		tag := func(id string, tags []model.TagDto) error {
			_, err := c.TagResource(&model.TagResourceRequest{ResourceId: id, Body: &model.TagResourceReqBody{Tags: tags}})
			return err
		}
		untag := func(id string, keys []string) error {
			_, err := c.UntagResource(&model.UntagResourceRequest{ResourceId: id, Body: &model.UntagResourceReqBody{TagKeys: keys}})
			return err
		}
		n := func(count int) []model.TagDto {
			var out []model.TagDto
			for i := range count {
				out = append(out, model.TagDto{Key: fmt.Sprintf("k%02d", i), Value: "v"})
			}
			return out
		}
		keys := func(count int) []string {
			var out []string
			for i := range count {
				out = append(out, fmt.Sprint("k", i))
			}
			return out
		}
		cjk := func(count int) string { return strings.Repeat("键", count) }
		var ctAcc model.CreateTagResourceRequestResourceType
		_ = ctAcc.UnmarshalJSON([]byte(`"organizations:ous"`))
		_, mismatch := c.CreateTagResource(&model.CreateTagResourceRequest{ResourceType: ctAcc, ResourceId: account, Body: &model.TagResourceReqBody{Tags: n(1)}})
		_, noBody := c.TagResource(&model.TagResourceRequest{ResourceId: ou1})
		_, noType := c.CreateTagResource(&model.CreateTagResourceRequest{ResourceId: ou1, Body: &model.TagResourceReqBody{Tags: n(1)}})
		_, noUntagBody := c.UntagResource(&model.UntagResourceRequest{ResourceId: ou1})
		for _, tc := range []struct {
			name string
			err  error
			code string
		}{
			{"21 tags", tag(ou1, n(21)), "Organizations.9001"},
			{"no tags", tag(ou1, []model.TagDto{}), "Organizations.9001"},
			{"nil tags", tag(ou1, nil), "Organizations.9001"},
			{"no body", noBody, "Organizations.9002"},
			{"untag no body", noUntagBody, "Organizations.9002"},
			{"21 keys", untag(ou1, keys(21)), "Organizations.9001"},
			{"no keys", untag(ou1, []string{}), "Organizations.9001"},
			{"129-character key", tag(ou1, hwTags(cjk(129), "v")), "Organizations.9001"},
			{"256-character value", tag(ou1, hwTags("k", cjk(256))), "Organizations.9001"},
			{"empty key", tag(ou1, hwTags("", "v")), "Organizations.9001"},
			{"_sys_ key", tag(ou1, hwTags("_sys_enterprise_project_id", "0")), "Organizations.9001"},
			{"_SYS_ key", tag(ou1, hwTags("_SYS_x", "0")), "Organizations.9001"},
			{"untag _sys_ key", untag(ou1, []string{"_sys_x"}), "Organizations.9001"},
			{"leading space", tag(ou1, hwTags(" k", "v")), "Organizations.9001"},
			{"trailing space in value", tag(ou1, hwTags("k", "v ")), "Organizations.9001"},
			{"bad character", tag(ou1, hwTags("k#1", "v")), "Organizations.9001"},
			{"duplicate key", tag(ou1, hwTags("k", "1", "k", "2")), "Organizations.9001"},
			{"malformed id", tag("ou_1", n(1)), "Organizations.9001"},
			{"upper-case account id", tag(strings.ToUpper(account), n(1)), "Organizations.9001"},
			{"131-character policy id", tag("p-"+strings.Repeat("a", 128), n(1)), "Organizations.9001"},
			{"type mismatch", mismatch, "Organizations.9001"},
			{"empty id", tag("", n(1)), "Organizations.9001"},
			{"untag empty id", untag("", keys(1)), "Organizations.9001"},
			{"no type", noType, "Organizations.9001"},
		} {
			t.Run(tc.name, func(t *testing.T) { wantHWError(t, tc.err, 400, tc.code) })
		}
		if got := listHW(t, c, ou1, 200); len(got) != 0 {
			t.Fatalf("a refused call changed %s: %v", ou1, got)
		}
		// The limits themselves are fine.
		tagHW(t, c, ou1, cjk(128), cjk(255), "a b", "c:d/e=f+g-h@i.j_k", "中文", "")
		if err := untag(ou1, []string{cjk(128), "a b", "中文"}); err != nil {
			t.Fatal(err)
		}

		// At most 20 tags on a resource: a call past it changes nothing.
		if err := tag(ou2, n(19)); err != nil {
			t.Fatal(err)
		}
		wantHWError(t, tag(ou2, hwTags("new1", "x", "new2", "x", "k00", "changed")), 400, "Organizations.9003")
		if got := listHW(t, c, ou2, 100); len(got) != 19 || got[0] != "k00=v" {
			t.Fatalf("the refused call changed it: %v", got)
		}
		tagHW(t, c, ou2, "new1", "x", "k00", "changed")
		wantHWError(t, tag(ou2, hwTags("new2", "x")), 400, "Organizations.9003")
		tagHW(t, c, ou2, "new1", "y") // overwriting at the cap is fine
	})
}

func instancesHW(t *testing.T, c *org.OrganizationsClient, typ string, body *model.ResourceInstanceReqBody, limit int32) ([]string, int32) {
	t.Helper()
	var rt model.ListResourceInstancesRequestResourceType
	_ = rt.UnmarshalJSON([]byte(`"` + typ + `"`))
	var ids []string
	var total int32 = -1
	for offset := 0; ; offset += int(limit) {
		off := fmt.Sprint(offset)
		resp, err := c.ListResourceInstances(&model.ListResourceInstancesRequest{ResourceType: rt, Limit: &limit, Offset: &off, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if total >= 0 && *resp.TotalCount != total {
			t.Fatalf("total_count moved from %d to %d", total, *resp.TotalCount)
		}
		total = *resp.TotalCount
		for _, r := range *resp.Resources {
			if r.ResourceName == nil || *r.ResourceName != r.ResourceId {
				t.Fatalf("resource %+v", r)
			}
			ids = append(ids, r.ResourceId)
		}
		if len(*resp.Resources) < int(limit) {
			break
		}
	}
	var ct model.ShowResourceInstancesCountRequestResourceType
	_ = ct.UnmarshalJSON([]byte(`"` + typ + `"`))
	count, err := c.ShowResourceInstancesCount(&model.ShowResourceInstancesCountRequest{ResourceType: ct, Body: body})
	if err != nil || *count.TotalCount != total || int(total) != len(ids) {
		t.Fatalf("count %v, %v; listed %d of %d", count, err, len(ids), total)
	}
	return ids, total
}

func TestHuaweiResourceTagsAndInstances(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := huaweiClient(t, tw)
		ous := []string{"ou-a1", "ou-a2", "ou-b1", "ou-b2", "ou-c1"}
		tagHW(t, c, ous[0], "env", "prod", "team", "x")
		tagHW(t, c, ous[1], "env", "dev", "team", "x")
		tagHW(t, c, ous[2], "env", "prod")
		tagHW(t, c, ous[3], "cost", "")
		tagHW(t, c, ous[4], "gone", "1")
		tagHW(t, c, account, "account-only", "1")
		if _, err := c.UntagResource(&model.UntagResourceRequest{ResourceId: ous[4], Body: &model.UntagResourceReqBody{TagKeys: []string{"gone"}}}); err != nil {
			t.Fatal(err)
		}

		var rt model.ListResourceTagsRequestResourceType
		_ = rt.UnmarshalJSON([]byte(`"organizations:ous"`))
		keys, err := c.ListResourceTags(&model.ListResourceTagsRequest{ResourceType: rt})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range *keys.Tags {
			got = append(got, k.Key+"="+strings.Join(k.Values, "|"))
		}
		if strings.Join(got, ",") != "cost=,env=dev|prod,team=x" {
			t.Fatalf("ListResourceTags = %v", got)
		}

		filter := func(kv ...any) *model.ResourceInstanceReqBody {
			var tags []model.TagsDto
			for i := 0; i+1 < len(kv); i += 2 {
				tags = append(tags, model.TagsDto{Key: kv[i].(string), Values: kv[i+1].([]string)})
			}
			return &model.ResourceInstanceReqBody{Tags: &tags}
		}
		yes := true
		name := []model.Match{{Key: "resource_name", Value: "-b"}}
		for _, tc := range []struct {
			name string
			body *model.ResourceInstanceReqBody
			want []string
		}{
			{"no body", nil, ous},
			{"no filter", &model.ResourceInstanceReqBody{}, ous},
			{"one value", filter("env", []string{"prod"}), []string{"ou-a1", "ou-b1"}},
			{"values ORed", filter("env", []string{"prod", "dev"}), []string{"ou-a1", "ou-a2", "ou-b1"}},
			{"keys ANDed", filter("env", []string{"prod"}, "team", []string{}), []string{"ou-a1"}},
			{"key only", filter("cost", []string{}), []string{"ou-b2"}},
			{"empty value", filter("cost", []string{""}), []string{"ou-b2"}},
			{"without any tag", &model.ResourceInstanceReqBody{WithoutAnyTag: &yes}, []string{"ou-c1"}},
			{"resource_name", &model.ResourceInstanceReqBody{Matches: &name}, []string{"ou-b1", "ou-b2"}},
			{"nothing", filter("env", []string{"qa"}), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, limit := range []int32{1, 2, 1000} {
					ids, total := instancesHW(t, c, "organizations:ous", tc.body, limit)
					if !slices.Equal(ids, tc.want) || int(total) != len(tc.want) {
						t.Fatalf("limit %d: %v (total %d), want %v", limit, ids, total, tc.want)
					}
				}
			})
		}
		if ids, _ := instancesHW(t, c, "organizations:accounts", nil, 10); !slices.Equal(ids, []string{account}) {
			t.Fatalf("accounts %v", ids)
		}

		var lt model.ListResourceInstancesRequestResourceType
		_ = lt.UnmarshalJSON([]byte(`"organizations:ous"`))
		eleven := make([]string, 11)
		for i := range eleven {
			eleven[i] = fmt.Sprint(i)
		}
		var manyKeys []any
		for i := range 11 {
			manyKeys = append(manyKeys, fmt.Sprint("k", i), []string{})
		}
		bad := func(limit *int32, offset string, body *model.ResourceInstanceReqBody) error {
			_, err := c.ListResourceInstances(&model.ListResourceInstancesRequest{ResourceType: lt, Limit: limit, Offset: &offset, Body: body})
			return err
		}
		zero, over := int32(0), int32(1001)
		other := []model.Match{{Key: "resource_id", Value: "x"}}
		for name, err := range map[string]error{
			"11 keys":         bad(nil, "0", filter(manyKeys...)),
			"11 values":       bad(nil, "0", filter("env", eleven)),
			"duplicate key":   bad(nil, "0", filter("env", []string{}, "env", []string{"x"})),
			"duplicate value": bad(nil, "0", filter("env", []string{"x", "x"})),
			"match key":       bad(nil, "0", &model.ResourceInstanceReqBody{Matches: &other}),
			"offset":          bad(nil, "first", nil),
			"negative offset": bad(nil, "-1", nil),
			"limit 0":         bad(&zero, "0", nil),
			"limit 1001":      bad(&over, "0", nil),
		} {
			t.Run(name, func(t *testing.T) { wantHWError(t, err, 400, "Organizations.9001") })
		}
		_, err = c.ListTagsForResource(&model.ListTagsForResourceRequest{ResourceId: ou1, Marker: ptr("!!not-a-marker!!")})
		wantHWError(t, err, 400, "Organizations.9001")
		_, err = c.ListTagsForResource(&model.ListTagsForResourceRequest{ResourceId: ou1, Limit: &zero})
		wantHWError(t, err, 400, "Organizations.9001")
		_, err = c.ListResourceInstances(&model.ListResourceInstancesRequest{ResourceType: lt, Body: filter("env", []string{strings.Repeat("v", 256)})})
		wantHWError(t, err, 400, "Organizations.9001")
		long := []model.Match{{Key: "resource_name", Value: strings.Repeat("v", 256)}}
		_, err = c.ListResourceInstances(&model.ListResourceInstancesRequest{ResourceType: lt, Body: &model.ResourceInstanceReqBody{Matches: &long}})
		wantHWError(t, err, 400, "Organizations.9001")
		plus := "+1"
		_, err = c.ListResourceInstances(&model.ListResourceInstancesRequest{ResourceType: lt, Offset: &plus})
		wantHWError(t, err, 400, "Organizations.9001")
	})
}

func ptr[T any](v T) *T { return &v }

// TestHuaweiCrossSurface checks that the Huawei dialect and the core gRPC
// API see the same tags, and that the AWS dialect sees none of them.
func TestHuaweiCrossSurface(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c, g := huaweiClient(t, tw), core(t, tw)
		tagHW(t, c, ou1, "via", "huawei")
		name := "arn:huaweicloud:organizations:::ou/" + ou1
		got, err := g.GetResourceTags(ctxT(t), &tagwayv1.GetResourceTagsRequest{Resources: []string{name}})
		if err != nil || len(got.GetResources()) != 1 || got.GetResources()[0].GetTags()[0].GetValue() != "huawei" {
			t.Fatalf("gRPC sees %v, %v", got, err)
		}
		if _, err := g.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{"arn:huaweicloud:organizations:::account/" + account}, Tags: map[string]string{"via": "grpc"}}); err != nil {
			t.Fatal(err)
		}
		if got := listHW(t, c, account, 10); strings.Join(got, ",") != "via=grpc" {
			t.Fatalf("Huawei sees %v", got)
		}
		if arns := pages(t, awsClient(tw, region), &rgta.GetResourcesInput{}); len(arns) != 0 {
			t.Fatalf("the AWS dialect sees Huawei resources: %v", arns)
		}
	})
}

// TestHuaweiWire checks the bytes clients rely on, with plain HTTP.
func TestHuaweiWire(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		do := func(method, path, body string) (*http.Response, string) {
			req, _ := http.NewRequest(method, tw.URL()+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		base := "/v1/organizations/"
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			code                     string
			body2                    string
		}{
			{"tag", "POST", base + "resources/" + ou1 + "/tag", `{"tags":[{"key":"k","value":"v"}]}`, 200, "", ""},
			{"untag", "POST", base + "resources/" + ou1 + "/untag", `{"tag_keys":["k"]}`, 200, "", ""},
			{"list", "GET", base + "resources/" + ou1 + "/tags", ``, 200, "", `"current_count":0`},
			{"count", "POST", base + "organizations:ous/resource-instances/count", `{}`, 200, "", `"total_count":`},
			{"not JSON", "POST", base + "resources/" + ou1 + "/tag", `{"tags":[`, 400, "Organizations.9002", ""},
			{"wrong type", "POST", base + "resources/" + ou1 + "/untag", `{"tag_keys":"k"}`, 400, "Organizations.9002", ""},
			{"wrong item type", "POST", base + "resources/" + ou1 + "/tag", `{"tags":[{"key":1,"value":"v"}]}`, 400, "Organizations.9002", ""},
			{"null value", "POST", base + "resources/" + ou1 + "/tag", `{"tags":[{"key":"k","value":null}]}`, 400, "Organizations.9001", ""},
			{"trailing data", "POST", base + "resources/" + ou1 + "/tag", `{"tags":[{"key":"k","value":"v"}]} x`, 400, "Organizations.9002", ""},
			{"empty id", "POST", base + "resources//tag", `{"tags":[{"key":"k","value":"v"}]}`, 400, "Organizations.9001", ""},
			{"dot id", "POST", base + "resources/./tag", `{"tags":[{"key":"k","value":"v"}]}`, 400, "Organizations.9001", ""},
			{"resources as a type", "POST", base + "resources/" + ou1 + "/tags/create", `{"tags":[{"key":"k","value":"v"}]}`, 404, "APIGW.0101", ""},
			{"no trailing slash", "GET", "/v1/organizations", ``, 404, "APIGW.0101", ""},
			{"empty body", "POST", base + "resources/" + ou1 + "/tag", ``, 400, "Organizations.9002", ""},
			{"limit not a number", "GET", base + "resources/" + ou1 + "/tags?limit=ten", ``, 400, "Organizations.9002", ""},
			{"unknown path", "GET", base + "nope", ``, 404, "APIGW.0101", ""},
			{"wrong method", "DELETE", base + "resources/" + ou1 + "/tag", ``, 404, "APIGW.0101", ""},
			{"unknown type", "GET", base + "organizations:users/tags", ``, 400, "Organizations.9001", ""},
			{"too large", "POST", base + "resources/" + ou1 + "/tag", `{"tags":[{"key":"k","value":"` + strings.Repeat("v", 1<<20) + `"}]}`, 413, "APIGW.0201", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := do(tc.method, tc.path, tc.body)
				id := resp.Header.Get("X-Request-Id")
				if resp.StatusCode != tc.status || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
					t.Fatalf("status %d, X-Request-Id %q: %s", resp.StatusCode, id, body)
				}
				if tc.status == 200 && tc.method == "POST" && !strings.Contains(tc.path, "count") && body != "" {
					t.Fatalf("success body %q, want none", body)
				}
				if !strings.Contains(body, tc.body2) {
					t.Fatalf("body %s lacks %s", body, tc.body2)
				}
				if tc.code != "" {
					want := `{"error_code":"` + tc.code + `","error_msg":"`
					if !strings.HasPrefix(body, want) || !strings.HasSuffix(body, `"request_id":"`+id+`"}`) {
						t.Fatalf("error body %s, want %s... with request_id %s", body, tc.code, id)
					}
				}
			})
		}
	})
}

// TestHuaweiStoreDown checks the error when Redis is gone.
func TestHuaweiStoreDown(t *testing.T) {
	srv, err := startRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	tw := tagwaytest.Start(t, binary, "--store", srv.URL()+"?max_retries=-1&dial_timeout=300ms")
	c := huaweiClient(t, tw)
	tagHW(t, c, ou1, "k", "v")
	srv.Stop()
	_, err = c.TagResource(&model.TagResourceRequest{ResourceId: ou1, Body: &model.TagResourceReqBody{Tags: hwTags("k", "v2")}})
	wantHWError(t, err, 500, "Organizations.9500")
	_, err = c.ListTagsForResource(&model.ListTagsForResourceRequest{ResourceId: ou1})
	wantHWError(t, err, 500, "Organizations.9500")
}
