package tagging_test

import (
	"fmt"
	"strings"
	"testing"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// TestRulesFollowTheResource checks that a resource's rules apply whatever
// the call's Limits say: a gRPC call without limits gets Huawei's rules on
// an OU and AWS's on an ARN.
func TestRulesFollowTheResource(t *testing.T) {
	s := newService(t, memstore.New())
	ou := "arn:huaweicloud:organizations:::ou/ou-rules"
	ec2 := "arn:aws:ec2:us-east-1:111111111111:instance/i-rules"
	refused := []struct {
		name      string
		resources []string
		kv        []string
		field     string
		has       string
	}{
		{"Huawei value length", []string{ou}, []string{"k", strings.Repeat("v", 256)}, "tags", "more than 255"},
		{"Huawei reserved prefix", []string{ou}, []string{"_SYS_x", "v"}, "tags", `reserved prefix "_sys_"`},
		{"Huawei characters", []string{ou}, []string{"k#", "v"}, "tags", "only letters"},
		{"Huawei edge space", []string{ou}, []string{"k", "v "}, "tags", "white space"},
		{"Huawei id", []string{"arn:huaweicloud:organizations:::ou/r-1"}, []string{"k", "v"}, "resources", "its id is not one of its type"},
		{"Huawei region", []string{"arn:huaweicloud:organizations:cn-north-4::ou/ou-1"}, []string{"k", "v"}, "resources", "has a region"},
		{"AWS control character", []string{ec2}, []string{"k\n", "v"}, "tags", "contains"},
		{"AWS NUL in a value", []string{ec2}, []string{"k", "a\x00b"}, "tags", "contains"},
		{"AWS reserved prefix", []string{ec2}, []string{"aws:x", "v"}, "tags", `reserved prefix "aws:"`},
		{"AWS ARN grammar", []string{"arn:aws:ec2:us-east-1:111111111111:i-1"}, []string{"k", "v"}, "resources", "is not a valid AmazonResourceName"},
		{"mixed kinds name the rule", []string{ec2, ou}, []string{"k", strings.Repeat("v", 256)}, "tags", "the rule of Huawei Cloud Organizations resources"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.TagResources(ctx, tagReq(tc.resources, tc.kv...))
			wantInvalid(t, err, tagging.ReasonInvalidParameter, tc.field, -1+boolIndex(tc.field == "resources"))
			if !strings.Contains(err.Error(), tc.has) {
				t.Fatalf("%v, want %q", err, tc.has)
			}
		})
	}
	// Caps per resource: 20 on the OU, 50 on the ARN, whatever the call.
	for _, tc := range []struct {
		name string
		max  int
	}{{ou, 20}, {ec2, 50}} {
		var kv []string
		for i := range tc.max {
			kv = append(kv, fmt.Sprint("k", i), "v")
		}
		for i := 0; i < len(kv); i += 40 {
			mustTag(t, s, []string{tc.name}, kv[i:min(i+40, len(kv))]...)
		}
		resp, err := s.TagResources(ctx, tagReq([]string{tc.name}, "one-more", "v"))
		if err != nil || resp.GetFailedResources()[tc.name].GetReason() != tagwayv1.FailureReason_FAILURE_REASON_TAG_LIMIT_EXCEEDED {
			t.Fatalf("%s over %d tags: %v, %v", tc.name, tc.max, resp, err)
		}
	}
	// A key no client could set is still removable: removals are not held
	// to the character rule, reserved prefixes stay reserved.
	req := &tagwayv1.UntagResourcesRequest{Resources: []string{ou, ec2}, TagKeys: []string{"k#\n", "k0"}}
	if _, err := s.UntagResources(ctx, req); err != nil {
		t.Fatal(err)
	}
	req.TagKeys = []string{"_sys_x"}
	_, err := s.UntagResources(ctx, req)
	wantInvalid(t, err, tagging.ReasonInvalidParameter, "tag_keys", 0)
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
