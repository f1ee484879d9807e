package e2e

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// policyFile is testdata/policy.yaml.
type policyFile struct {
	Policy string `yaml:"policy"`
	Setup  []struct {
		Resource string            `yaml:"resource"`
		Tags     map[string]string `yaml:"tags"`
	} `yaml:"setup"`
	Cases []struct {
		Name      string            `yaml:"name"`
		Caller    string            `yaml:"caller"`
		Action    string            `yaml:"action"`
		Resources []string          `yaml:"resources"`
		Keys      []string          `yaml:"keys"`
		Tags      map[string]string `yaml:"tags"`
		Want      map[string]string `yaml:"want"`
	} `yaml:"cases"`
}

// policyResource names a resource of the policy cases: an EC2 instance of
// its owner's account, and an OU of its owner's organization.
type policyResource struct{ name, owner, arn, ou, hwName string }

func policyResourceOf(name string) policyResource {
	owner, acct, domain := "team-a", acctA, domainA
	if strings.HasPrefix(name, "b-") {
		owner, acct, domain = "team-b", acctB, domainB
	}
	ou := "ou-" + strings.ReplaceAll(name, "-", "")
	return policyResource{name, owner, instanceOf(acct, "i-"+name), ou, "arn:huaweicloud:organizations::" + domain + ":ou/" + ou}
}

// loadPolicyFile reads testdata/policy.yaml strictly.
func loadPolicyFile(t *testing.T) policyFile {
	t.Helper()
	raw, err := os.ReadFile("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f policyFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil || len(f.Cases) == 0 || f.Policy == "" {
		t.Fatalf("testdata/policy.yaml: %v", err)
	}
	return f
}

// TestPolicyCases replays testdata/policy.yaml over every surface.
func TestPolicyCases(t *testing.T) {
	f := loadPolicyFile(t)
	path := filepath.Join(t.TempDir(), "policy.cedar")
	replaceFile(t, path, f.Policy)
	authStores(t, func(t *testing.T, tw *tagwaytest.Proc) {
		admin := grpcAs(t, tw.GRPC, tokenOps)
		for _, s := range f.Setup {
			r := policyResourceOf(s.Resource)
			if _, err := admin.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{r.arn, r.hwName}, Tags: s.Tags}); err != nil {
				t.Fatalf("setting up %s: %v", s.Resource, err)
			}
		}
		for _, tc := range f.Cases {
			c, ok := accessCallers[tc.Caller]
			if !ok || len(tc.Want) == 0 || len(tc.Resources) == 0 {
				t.Fatalf("case %q: unknown caller, or nothing wanted", tc.Name)
			}
			var rs []policyResource
			for _, name := range tc.Resources {
				rs = append(rs, policyResourceOf(name))
			}
			for _, surface := range slices.Sorted(maps.Keys(tc.Want)) {
				var got string
				switch surface {
				case "grpc":
					got = policyGRPC(t, tw, c, tc.Action, rs, tc.Keys, tc.Tags)
				case "aws":
					got = policyAWS(t, tw, c, tc.Action, rs, tc.Keys, tc.Tags)
				case "huawei":
					if len(rs) != 1 {
						t.Fatalf("case %q: a Huawei call names one resource", tc.Name)
					}
					got = policyHuawei(t, tw, c, tc.Action, rs[0], tc.Keys, tc.Tags)
				default:
					t.Fatalf("case %q: unknown surface %q", tc.Name, surface)
				}
				if want := tc.Want[surface]; got != want {
					t.Errorf("case %q over %s: %s, want %s", tc.Name, surface, got, want)
				}
			}
		}
	}, "--policy-file", path)
}

// failuresOf renders per-resource failures as "<name>: <what>, ...", by the
// short name of each resource; "OK" for none.
func failuresOf(rs []policyResource, failed map[string]string) string {
	if len(failed) == 0 {
		return "OK"
	}
	var out []string
	for _, r := range rs {
		if what, ok := failed[r.arn]; ok {
			out = append(out, r.name+": "+what)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func policyGRPC(t *testing.T, tw *tagwaytest.Proc, c accessCaller, action string, rs []policyResource, keys []string, tags map[string]string) string {
	cl := grpcAs(t, tw.GRPC, c.token)
	var arns []string
	for _, r := range rs {
		arns = append(arns, r.arn)
	}
	var failed map[string]*tagwayv1.ResourceFailure
	var err error
	switch action {
	case "tag":
		var resp *tagwayv1.TagResourcesResponse
		resp, err = cl.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: arns, Tags: tags})
		failed = resp.GetFailedResources()
	case "untag":
		var resp *tagwayv1.UntagResourcesResponse
		resp, err = cl.UntagResources(ctxT(t), &tagwayv1.UntagResourcesRequest{Resources: arns, TagKeys: keys})
		failed = resp.GetFailedResources()
	case "keys":
		_, err = cl.ListTagKeys(ctxT(t), &tagwayv1.ListTagKeysRequest{})
	case "read", "list":
		r := rs[0]
		var found []*tagwayv1.ResourceTags
		if action == "read" {
			var resp *tagwayv1.GetResourceTagsResponse
			resp, err = cl.GetResourceTags(ctxT(t), &tagwayv1.GetResourceTagsRequest{Resources: []string{r.arn}})
			found = resp.GetResources()
		} else {
			var resp *tagwayv1.ListResourcesResponse
			resp, err = cl.ListResources(ctxT(t), &tagwayv1.ListResourcesRequest{TagFilters: []*tagwayv1.TagFilter{{Key: "owner", Values: []string{r.owner}}}})
			found = resp.GetResources()
		}
		if err == nil {
			return visibility(slices.ContainsFunc(found, func(rt *tagwayv1.ResourceTags) bool {
				return rt.GetResource() == r.arn && slices.ContainsFunc(rt.GetTags(), func(tg *tagwayv1.Tag) bool { return tg.GetKey() == "owner" && tg.GetValue() == r.owner })
			}))
		}
	default:
		t.Fatalf("unknown action %q", action)
	}
	if err != nil {
		return status.Code(err).String()
	}
	m := map[string]string{}
	for name, f := range failed {
		m[name] = strings.TrimPrefix(f.GetReason().String(), "FAILURE_REASON_")
	}
	return failuresOf(rs, m)
}

func policyAWS(t *testing.T, tw *tagwaytest.Proc, c accessCaller, action string, rs []policyResource, keys []string, tags map[string]string) string {
	cl := awsAs(tw, region, c.ak, c.sk, "")
	var arns []string
	for _, r := range rs {
		arns = append(arns, r.arn)
	}
	var failed map[string]types.FailureInfo
	var err error
	switch action {
	case "tag":
		var out *rgta.TagResourcesOutput
		if out, err = cl.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: arns, Tags: tags}); err == nil {
			failed = out.FailedResourcesMap
		}
	case "untag":
		var out *rgta.UntagResourcesOutput
		if out, err = cl.UntagResources(ctxT(t), &rgta.UntagResourcesInput{ResourceARNList: arns, TagKeys: keys}); err == nil {
			failed = out.FailedResourcesMap
		}
	case "keys":
		_, err = cl.GetTagKeys(ctxT(t), &rgta.GetTagKeysInput{})
	case "read", "list":
		return accessAWS(t, tw, c, action, accessResource{owner: rs[0].owner, arn: rs[0].arn})
	default:
		t.Fatalf("unknown action %q", action)
	}
	if err != nil {
		return awsCode(t, err)
	}
	m := map[string]string{}
	for name, f := range failed {
		m[name] = fmt.Sprintf("%d %s", f.StatusCode, f.ErrorCode)
	}
	return failuresOf(rs, m)
}

func policyHuawei(t *testing.T, tw *tagwaytest.Proc, c accessCaller, action string, r policyResource, keys []string, tags map[string]string) string {
	cl := huaweiAs(t, tw, c.hwAK, c.hwSK, "")
	switch action {
	case "tag":
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			kv = append(kv, k, tags[k])
		}
		_, err := cl.TagResource(&model.TagResourceRequest{ResourceId: r.ou, Body: &model.TagResourceReqBody{Tags: hwTags(kv...)}})
		return huaweiCode(err)
	case "untag":
		_, err := cl.UntagResource(&model.UntagResourceRequest{ResourceId: r.ou, Body: &model.UntagResourceReqBody{TagKeys: keys}})
		return huaweiCode(err)
	case "read", "list":
		return accessHuawei(t, tw, c, action, accessResource{owner: r.owner, ou: r.ou})
	}
	t.Fatalf("unknown action %q", action)
	return ""
}

// TestPolicyReload changes the policy file under a running tagway: the next
// calls are decided by the new version, and a broken version is refused
// with the one in force kept.
func TestPolicyReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.cedar")
	replaceFile(t, path, `permit (principal, action, resource);`)
	tw := tagwaytest.Start(t, binary, "--auth-file", writeAuthFile(t, authFile(skA, tokenA)), "--policy-file", path)
	cl := awsAs(tw, region, akA, skA, "")
	arn := instanceOf(acctA, "i-reload")
	untag := func() string {
		out, err := cl.UntagResources(ctxT(t), &rgta.UntagResourcesInput{ResourceARNList: []string{arn}, TagKeys: []string{"k"}})
		if err != nil {
			return awsCode(t, err)
		}
		if f, ok := out.FailedResourcesMap[arn]; ok {
			return aws.ToString(f.ErrorMessage)
		}
		return "OK"
	}
	if got := untag(); got != "OK" {
		t.Fatalf("before the reload: %s", got)
	}
	replaceFile(t, path, `permit (principal, action in Tagway::Action::"read", resource);`)
	tw.WaitLog(t, "policy file reloaded", 10*time.Second)
	if got := untag(); !strings.Contains(got, "team-a is not authorized to perform UntagResources on "+arn+": no policy permits it") {
		t.Fatalf("after the reload: %s", got)
	}
	if n := metricValue(t, tw, "tagway_resource_failures_total", map[string]string{"operation": "untag", "reason": "FAILURE_REASON_DENIED_BY_POLICY"}); n != 1 {
		t.Fatalf("tagway_resource_failures_total for the denial = %v, want 1", n)
	}
	replaceFile(t, path, `permit (principal,`)
	tw.WaitLog(t, "policy file not reloaded; the version in force stays", 10*time.Second)
	if got := untag(); got == "OK" {
		t.Fatal("a broken policy file replaced the one in force")
	}
	noSecretsLogged(t, tw.Stop(t, syscall.SIGTERM))
}
