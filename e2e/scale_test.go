package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// commands returns how many commands r has run.
func commands(t *testing.T, r *redistest.Server) int {
	t.Helper()
	info, err := r.Do("INFO", "stats")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatal("no total_commands_processed")
	return 0
}

// TestBoundedWorkAtScale is the work-amplification case, through the
// official clients: 20 000 resources of 20 000 types in one AWS account
// (what were 20 000 namespaces) and 20 000 OUs in one organization. Each
// GetTagKeys and ShowResourceInstancesCount must cost a handful of Redis
// commands, and a GetResources page about one per resource it returns (each
// resource's tags are a read; commands a script runs count), not one per
// type or OU in the store.
func TestBoundedWorkAtScale(t *testing.T) {
	r, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	tw := tagwaytest.Start(t, binary, "--store", r.URL())
	c := core(t, tw)
	for call := range 400 {
		req := &tagwayv1.TagResourcesRequest{Tags: map[string]string{"env": "prod"}}
		for i := range 100 {
			n := call*100 + i
			if call < 200 {
				req.Resources = append(req.Resources, fmt.Sprintf("arn:aws:ssm:us-east-1:123456789012:t%05d/r", n))
			} else {
				req.Resources = append(req.Resources, fmt.Sprintf("arn:huaweicloud:organizations:::ou/ou-%08d", n))
			}
		}
		if resp, err := c.TagResources(ctxT(t), req); err != nil || len(resp.GetFailedResources()) > 0 {
			t.Fatalf("%v %v", resp, err)
		}
	}
	aws := awsClient(tw, region)
	hw := huaweiClient(t, tw)
	for _, tc := range []struct {
		name string
		max  int
		call func() error
	}{
		{"GetTagKeys", 20, func() error {
			out, err := aws.GetTagKeys(ctxT(t), &rgta.GetTagKeysInput{})
			if err == nil && (len(out.TagKeys) != 1 || out.TagKeys[0] != "env") {
				err = fmt.Errorf("keys %v", out.TagKeys)
			}
			return err
		}},
		{"GetResources", 2*100 + 20, func() error {
			out, err := aws.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourcesPerPage: awsInt32(100)})
			if err == nil && len(out.ResourceTagMappingList) != 100 {
				err = fmt.Errorf("%d resources", len(out.ResourceTagMappingList))
			}
			return err
		}},
		{"ShowResourceInstancesCount", 20, func() error {
			out, err := hw.ShowResourceInstancesCount(&model.ShowResourceInstancesCountRequest{
				ResourceType: model.GetShowResourceInstancesCountRequestResourceTypeEnum().ORGANIZATIONSOUS,
				Body:         &model.ResourceInstanceReqBody{Tags: &[]model.TagsDto{{Key: "env", Values: []string{"prod"}}}},
			})
			if err == nil && (out.TotalCount == nil || *out.TotalCount != 20000) {
				err = fmt.Errorf("count %v", out.TotalCount)
			}
			return err
		}},
	} {
		before := commands(t, r)
		start := time.Now()
		if err := tc.call(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		took := time.Since(start)
		n := commands(t, r) - before - 1 // the INFO itself
		t.Logf("%s: %d Redis commands, %v", tc.name, n, took)
		if n > tc.max {
			t.Errorf("%s cost %d Redis commands", tc.name, n)
		}
	}
}
