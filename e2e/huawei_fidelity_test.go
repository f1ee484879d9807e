package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// TestHuaweiRulesFollowTheResource: whatever surface writes an
// Organizations resource gets Huawei's rules, so a Huawei client can always
// list and repair it; deleting applies no character check; a tag without a
// value is refused.
func TestHuaweiRulesFollowTheResource(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c, g := huaweiClient(t, tw), core(t, tw)
		name := "arn:huaweicloud:organizations:::ou/" + ou1
		tags := map[string]string{}
		for i := range 20 {
			tags[fmt.Sprint("k", i)] = "v"
		}
		if resp, err := g.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{name}, Tags: tags}); err != nil || len(resp.GetFailedResources()) != 0 {
			t.Fatalf("20 tags over gRPC: %v, %v", resp, err)
		}
		resp, err := g.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{name}, Tags: map[string]string{"k20": "v"}})
		if err != nil || resp.GetFailedResources()[name].GetReason() != tagwayv1.FailureReason_FAILURE_REASON_TAG_LIMIT_EXCEEDED {
			t.Fatalf("a 21st tag over gRPC: %v, %v", resp, err)
		}
		for _, bad := range []*tagwayv1.TagResourcesRequest{
			{Resources: []string{name}, Tags: map[string]string{"k": strings.Repeat("v", 256)}},
			{Resources: []string{name}, Tags: map[string]string{"_sys_k": "v"}},
			{Resources: []string{name}, Tags: map[string]string{" k": "v"}},
			{Resources: []string{"arn:huaweicloud:organizations:::ou/r-1"}, Tags: map[string]string{"k": "v"}},
		} {
			if _, err := g.TagResources(ctxT(t), bad); err == nil {
				t.Errorf("gRPC wrote what Huawei cannot hold: %v", bad)
			}
		}
		if got := listHW(t, c, ou1, 200); len(got) != 20 {
			t.Fatalf("the Huawei client lists %d tags", len(got))
		}
		// Deleting checks no characters; _sys_ stays reserved.
		if _, err := c.UntagResource(&model.UntagResourceRequest{ResourceId: ou1, Body: &model.UntagResourceReqBody{TagKeys: []string{"k0", "odd#key"}}}); err != nil {
			t.Fatal(err)
		}
		var ct model.DeleteTagResourceRequestResourceType
		_ = ct.UnmarshalJSON([]byte(`"organizations:ous"`))
		if _, err := c.DeleteTagResource(&model.DeleteTagResourceRequest{ResourceType: ct, ResourceId: ou1, Body: &model.TagResourceReqBody{Tags: hwTags("k1", "v", "x\ty", "")}}); err != nil {
			t.Fatal(err)
		}
		_, err = c.UntagResource(&model.UntagResourceRequest{ResourceId: ou1, Body: &model.UntagResourceReqBody{TagKeys: []string{"_sys_k"}}})
		wantHWError(t, err, 400, "Organizations.9001")
		if got := listHW(t, c, ou1, 200); len(got) != 18 {
			t.Fatalf("after deleting two: %d tags", len(got))
		}
		// A tag without "value" (the SDK always sends it: raw HTTP).
		for _, body := range []string{`{"tags":[{"key":"k"}]}`, `{"tags":[{"key":"k","value":null}]}`} {
			resp, err := http.Post(tw.URL()+"/v1/organizations/resources/"+ou1+"/tag", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !strings.Contains(string(b), "Organizations.9001") || !strings.Contains(string(b), "value") {
				t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
			}
		}
	})
}
