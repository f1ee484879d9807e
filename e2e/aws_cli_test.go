package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tagway/tagway/internal/tagwaytest"
)

// awsEnv is a clean environment for the AWS CLI and boto3: fixed
// credentials and region, no user configuration.
func awsEnv(t *testing.T) []string {
	home := t.TempDir()
	return []string{
		"HOME=" + home, "PATH=/usr/bin:/bin",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		"AWS_CONFIG_FILE=" + home + "/config", "AWS_SHARED_CREDENTIALS_FILE=" + home + "/credentials",
	}
}

// TestAWSCLI drives tagway with the AWS CLI (Debian's awscli, v2).
func TestAWSCLI(t *testing.T) {
	cli := requireTool(t, "/usr/bin/aws")
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		env := awsEnv(t)
		awsCLI := func(args ...string) (map[string]any, string, int) {
			args = append([]string{"resourcegroupstaggingapi", "--endpoint-url", tw.URL(), "--output", "json"}, args...)
			out, errOut, code := runTool(t, env, cli, args...)
			var v map[string]any
			if code == 0 && strings.TrimSpace(out) != "" {
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Fatalf("aws %v: %v in %q", args, err, out)
				}
			}
			return v, errOut, code
		}
		a, b := instance(1), "arn:aws:s3:::cli-bucket"
		out, errOut, code := awsCLI("tag-resources", "--resource-arn-list", a, b, "--tags", "env=prod,team=a")
		if code != 0 || len(out["FailedResourcesMap"].(map[string]any)) != 0 {
			t.Fatalf("tag-resources: exit %d, %v, %s", code, out, errOut)
		}
		// --page-size 1 makes the CLI page, and it fails if a token repeats.
		out, errOut, code = awsCLI("get-resources", "--tag-filters", "Key=env,Values=prod", "--page-size", "1")
		if code != 0 {
			t.Fatalf("get-resources: exit %d, %s", code, errOut)
		}
		if got := arnsOf(out); !slices.Equal(got, []string{a, b}) {
			t.Fatalf("get-resources listed %v", got)
		}
		if _, errOut, code = awsCLI("untag-resources", "--resource-arn-list", a, "--tag-keys", "team", "absent"); code != 0 {
			t.Fatalf("untag-resources: exit %d, %s", code, errOut)
		}
		out, _, _ = awsCLI("get-resources", "--resource-arn-list", a)
		tags := out["ResourceTagMappingList"].([]any)[0].(map[string]any)["Tags"].([]any)
		if len(tags) != 1 || tags[0].(map[string]any)["Key"] != "env" {
			t.Fatalf("tags after untag: %v", tags)
		}
		out, _, code = awsCLI("get-tag-keys")
		if code != 0 || !slices.Equal(toStrings(out["TagKeys"]), []string{"env", "team"}) {
			t.Fatalf("get-tag-keys: %v", out)
		}
		out, _, code = awsCLI("get-tag-values", "--key", "env")
		if code != 0 || !slices.Equal(toStrings(out["TagValues"]), []string{"prod"}) {
			t.Fatalf("get-tag-values: %v", out)
		}
		_, errOut, code = awsCLI("tag-resources", "--resource-arn-list", "i-0123456789abcdef0", "--tags", "k=v")
		if code != 254 || !strings.Contains(errOut, "(InvalidParameterException)") {
			t.Fatalf("malformed ARN: exit %d, %s", code, errOut)
		}
		_, errOut, code = awsCLI("get-compliance-summary")
		if code != 254 || !strings.Contains(errOut, "(ConstraintViolationException)") {
			t.Fatalf("get-compliance-summary: exit %d, %s", code, errOut)
		}
	})
}

func arnsOf(out map[string]any) []string {
	var arns []string
	list, _ := out["ResourceTagMappingList"].([]any)
	for _, m := range list {
		arns = append(arns, m.(map[string]any)["ResourceARN"].(string))
	}
	slices.Sort(arns)
	return arns
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, s := range list {
		out = append(out, s.(string))
	}
	return out
}

// boto3Script exercises the calls a Python user makes, and prints what it
// saw as JSON.
const boto3Script = `
import json, sys, boto3, botocore
c = boto3.client("resourcegroupstaggingapi", endpoint_url=sys.argv[1], region_name="us-east-1")
arns = ["arn:aws:ec2:us-east-1:123456789012:instance/i-%04d" % i for i in range(7)]
out = {}
out["tag"] = c.tag_resources(ResourceARNList=arns, Tags={"env": "prod", "empty": ""})["FailedResourcesMap"]
pages = c.get_paginator("get_resources").paginate(TagFilters=[{"Key": "env", "Values": ["prod"]}], ResourcesPerPage=3)
out["listed"] = [m["ResourceARN"] for p in pages for m in p["ResourceTagMappingList"]]
out["tags"] = c.get_resources(ResourceARNList=arns[:1])["ResourceTagMappingList"][0]["Tags"]
out["untag"] = c.untag_resources(ResourceARNList=arns, TagKeys=["env"])["FailedResourcesMap"]
out["keys"] = [k for p in c.get_paginator("get_tag_keys").paginate() for k in p["TagKeys"]]
out["request_id"] = c.get_tag_keys()["ResponseMetadata"]["RequestId"]
try:
    c.tag_resources(ResourceARNList=["not-an-arn"], Tags={"k": "v"})
except botocore.exceptions.ClientError as e:
    out["error"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
try:
    c.get_resources(PaginationToken="forged")
except c.exceptions.InvalidParameterException as e:
    out["modeled"] = e.response["Error"]["Code"]
print(json.dumps(out))
`

// TestBoto3 drives tagway with boto3 (Debian's python3-boto3).
func TestBoto3(t *testing.T) {
	python := requireTool(t, "/usr/bin/python3")
	if _, _, code := runTool(t, awsEnv(t), python, "-c", "import boto3"); code != 0 {
		requireTool(t, "/usr/lib/python3/dist-packages/boto3")
	}
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		stdout, stderr, code := runTool(t, awsEnv(t), python, "-c", boto3Script, tw.URL())
		if code != 0 {
			t.Fatalf("boto3: exit %d\n%s", code, stderr)
		}
		var out struct {
			Tag, Untag map[string]any
			Listed     []string
			Tags       []map[string]string
			Keys       []string
			RequestID  string `json:"request_id"`
			Error      []any
			Modeled    string
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		if len(out.Tag) != 0 || len(out.Untag) != 0 || len(out.Listed) != 7 || out.Listed[6] != instance(6) {
			t.Fatalf("boto3 saw %+v", out)
		}
		if len(out.Tags) != 2 || out.Tags[0]["Key"] != "empty" || out.Tags[0]["Value"] != "" {
			t.Fatalf("tags %v", out.Tags)
		}
		if !slices.Equal(out.Keys, []string{"empty"}) || !uuidPattern.MatchString(out.RequestID) {
			t.Fatalf("keys %v, request id %q", out.Keys, out.RequestID)
		}
		if len(out.Error) != 2 || out.Error[0] != "InvalidParameterException" || out.Error[1] != float64(400) || out.Modeled != "InvalidParameterException" {
			t.Fatalf("errors %v %q", out.Error, out.Modeled)
		}
	})
}
