package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	org "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// accessCase is one case of testdata/access.yaml.
type accessCase struct {
	Name     string            `yaml:"name"`
	Caller   string            `yaml:"caller"`
	Action   string            `yaml:"action"`
	Resource string            `yaml:"resource"`
	Want     map[string]string `yaml:"want"`
}

// accessResource is a resource of the cases as each surface names it.
type accessResource struct {
	owner, arn, ou string // ou: the Huawei id; "" where Huawei cannot name it
}

var accessResources = map[string]accessResource{
	"a":        {"team-a", instanceOf(acctA, "i-a"), "ou-a"},
	"b":        {"team-b", instanceOf(acctB, "i-b"), "ou-b"},
	"a-bucket": {"team-a", "arn:aws:s3:::team-a-bucket", ""},
	"a-ou":     {"team-a", "arn:huaweicloud:organizations::" + domainA + ":ou/ou-a", ""},
}

// accessCaller holds one caller's credentials per surface; "" where it has
// none, and "-" for no credentials at all.
type accessCaller struct{ token, ak, sk, hwAK, hwSK string }

var accessCallers = map[string]accessCaller{
	"team-a":   {tokenA, akA, skA, hwAKA, hwSKA},
	"team-b":   {tokenB, akB, skB, hwAKB, hwSKB},
	"ops":      {token: tokenOps},
	"none":     {"-", "-", "-", "-", "-"},
	"stranger": {strangerGRPCToken, strangerAK, skA, strangerHuaweiAK, hwSKA},
}

// TestAccessCases replays testdata/access.yaml over every surface.
func TestAccessCases(t *testing.T) {
	raw, err := os.ReadFile("testdata/access.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []accessCase `yaml:"cases"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil || len(file.Cases) == 0 {
		t.Fatalf("testdata/access.yaml: %v", err)
	}
	authStores(t, func(t *testing.T, tw *tagwaytest.Proc) {
		surfaces := map[string]func(c accessCaller, action string, r accessResource) string{
			"grpc":   func(c accessCaller, action string, r accessResource) string { return accessGRPC(t, tw, c, action, r) },
			"aws":    func(c accessCaller, action string, r accessResource) string { return accessAWS(t, tw, c, action, r) },
			"huawei": func(c accessCaller, action string, r accessResource) string { return accessHuawei(t, tw, c, action, r) },
		}
		// Each owner tags its resources.
		for _, name := range []string{"a", "b", "a-bucket"} {
			r := accessResources[name]
			c := accessCallers[r.owner]
			if got := accessAWSTag(t, awsAs(tw, region, c.ak, c.sk, ""), r.arn, "owner", r.owner); got != "OK" {
				t.Fatalf("setting up %s: %s", name, got)
			}
			if r.ou != "" {
				if got := accessHuaweiTag(huaweiAs(t, tw, c.hwAK, c.hwSK, ""), r.ou, "owner", r.owner); got != "OK" {
					t.Fatalf("setting up %s on Huawei: %s", name, got)
				}
			}
		}
		for _, tc := range file.Cases {
			c, ok := accessCallers[tc.Caller]
			r, okR := accessResources[tc.Resource]
			if !ok || !okR || len(tc.Want) == 0 {
				t.Fatalf("case %q: unknown caller or resource, or nothing wanted", tc.Name)
			}
			for surface, want := range tc.Want {
				do, ok := surfaces[surface]
				if !ok {
					t.Fatalf("case %q: unknown surface %q", tc.Name, surface)
				}
				if got := do(c, tc.Action, r); got != want {
					t.Errorf("case %q over %s: %s, want %s", tc.Name, surface, got, want)
				}
			}
		}
	})
}

// visibility turns a read's answer into "visible" (the owner's tag shows)
// or "hidden".
func visibility(seen bool) string {
	if seen {
		return "visible"
	}
	return "hidden"
}

func accessGRPC(t *testing.T, tw *tagwaytest.Proc, c accessCaller, action string, r accessResource) string {
	token := c.token
	if token == "-" {
		token = ""
	}
	cl := grpcAs(t, tw.GRPC, token)
	code := func(err error) string { return status.Code(err).String() }
	switch action {
	case "tag":
		return code(grpcTag(t, cl, r.arn))
	case "untag":
		_, err := cl.UntagResources(ctxT(t), &tagwayv1.UntagResourcesRequest{Resources: []string{r.arn}, TagKeys: []string{"by"}})
		return code(err)
	case "read":
		resp, err := cl.GetResourceTags(ctxT(t), &tagwayv1.GetResourceTagsRequest{Resources: []string{r.arn}})
		if err != nil {
			return code(err)
		}
		return visibility(slices.ContainsFunc(resp.GetResources(), func(rt *tagwayv1.ResourceTags) bool {
			return slices.ContainsFunc(rt.GetTags(), func(tg *tagwayv1.Tag) bool { return tg.GetKey() == "owner" && tg.GetValue() == r.owner })
		}))
	case "list":
		resp, err := cl.ListResources(ctxT(t), &tagwayv1.ListResourcesRequest{TagFilters: []*tagwayv1.TagFilter{{Key: "owner", Values: []string{r.owner}}}})
		if err != nil {
			return code(err)
		}
		return visibility(slices.ContainsFunc(resp.GetResources(), func(rt *tagwayv1.ResourceTags) bool { return rt.GetResource() == r.arn }))
	}
	t.Fatalf("unknown action %q", action)
	return ""
}

func accessAWSTag(t *testing.T, cl *rgta.Client, arn, k, v string) string {
	_, err := cl.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: []string{arn}, Tags: map[string]string{k: v}})
	return awsCode(t, err)
}

func accessAWS(t *testing.T, tw *tagwaytest.Proc, c accessCaller, action string, r accessResource) string {
	if c.ak == "" {
		t.Fatal("the case applies AWS to a caller without AWS keys")
	}
	cl := awsAs(tw, region, c.ak, c.sk, "")
	if c.ak == "-" {
		cl = rgta.New(rgta.Options{Region: region, BaseEndpoint: aws.String(tw.URL()), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	}
	switch action {
	case "tag":
		return accessAWSTag(t, cl, r.arn, "by", "aws")
	case "untag":
		_, err := cl.UntagResources(ctxT(t), &rgta.UntagResourcesInput{ResourceARNList: []string{r.arn}, TagKeys: []string{"by"}})
		return awsCode(t, err)
	case "read", "list":
		in := &rgta.GetResourcesInput{ResourceARNList: []string{r.arn}}
		if action == "list" {
			in = &rgta.GetResourcesInput{TagFilters: []types.TagFilter{{Key: aws.String("owner"), Values: []string{r.owner}}}}
		}
		out, err := cl.GetResources(ctxT(t), in)
		if err != nil {
			return awsCode(t, err)
		}
		return visibility(slices.ContainsFunc(out.ResourceTagMappingList, func(m types.ResourceTagMapping) bool {
			return aws.ToString(m.ResourceARN) == r.arn && slices.ContainsFunc(m.Tags, func(tg types.Tag) bool {
				return aws.ToString(tg.Key) == "owner" && aws.ToString(tg.Value) == r.owner
			})
		}))
	}
	t.Fatalf("unknown action %q", action)
	return ""
}

// huaweiCode returns "OK" or "<status> <error_code>" of a Huawei call.
func huaweiCode(err error) string {
	if err == nil {
		return "OK"
	}
	var se *sdkerr.ServiceResponseError
	if errors.As(err, &se) {
		return fmt.Sprintf("%d %s", se.StatusCode, se.ErrorCode)
	}
	return "transport error: " + err.Error()
}

func accessHuaweiTag(cl *org.OrganizationsClient, id, k, v string) string {
	_, err := cl.TagResource(&model.TagResourceRequest{ResourceId: id, Body: &model.TagResourceReqBody{Tags: hwTags(k, v)}})
	return huaweiCode(err)
}

func accessHuawei(t *testing.T, tw *tagwaytest.Proc, c accessCaller, action string, r accessResource) string {
	if c.hwAK == "" || r.ou == "" {
		t.Fatal("the case applies Huawei to a caller or resource it cannot name")
	}
	if c.hwAK == "-" {
		// The SDK always signs: send the request bare.
		method, path, body := http.MethodPost, "/v1/organizations/resources/"+r.ou+"/tag", `{"tags":[{"key":"by","value":"huawei"}]}`
		switch action {
		case "untag":
			path, body = "/v1/organizations/resources/"+r.ou+"/untag", `{"tag_keys":["by"]}`
		case "read":
			method, path, body = http.MethodGet, "/v1/organizations/resources/"+r.ou+"/tags", ""
		case "list":
			path, body = "/v1/organizations/organizations:ous/resource-instances/filter", `{}`
		}
		req, _ := http.NewRequest(method, tw.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Code string `json:"error_code"`
		}
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode == 200 {
			return "OK"
		}
		return fmt.Sprintf("%d %s", resp.StatusCode, e.Code)
	}
	cl := huaweiAs(t, tw, c.hwAK, c.hwSK, "")
	switch action {
	case "tag":
		return accessHuaweiTag(cl, r.ou, "by", "huawei")
	case "untag":
		_, err := cl.UntagResource(&model.UntagResourceRequest{ResourceId: r.ou, Body: &model.UntagResourceReqBody{TagKeys: []string{"by"}}})
		return huaweiCode(err)
	case "read":
		resp, err := cl.ListTagsForResource(&model.ListTagsForResourceRequest{ResourceId: r.ou})
		if err != nil {
			return huaweiCode(err)
		}
		return visibility(slices.ContainsFunc(*resp.Tags, func(tg model.TagDto) bool { return tg.Key == "owner" && tg.Value == r.owner }))
	case "list":
		var ct model.ListResourceInstancesRequestResourceType
		_ = ct.UnmarshalJSON([]byte(`"organizations:ous"`))
		resp, err := cl.ListResourceInstances(&model.ListResourceInstancesRequest{ResourceType: ct,
			Body: &model.ResourceInstanceReqBody{Tags: &[]model.TagsDto{{Key: "owner", Values: []string{r.owner}}}}})
		if err != nil {
			return huaweiCode(err)
		}
		return visibility(slices.ContainsFunc(*resp.Resources, func(d model.ResourceDto) bool { return d.ResourceId == r.ou }))
	}
	t.Fatalf("unknown action %q", action)
	return ""
}
