package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/smithy-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

const region = "us-east-1"

// awsClient is an unmodified SDK client pointed at tw, signing for region.
func awsClient(tw *tagwaytest.Proc, region string) *rgta.Client {
	return rgta.New(rgta.Options{
		Region:           region,
		BaseEndpoint:     aws.String(tw.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		RetryMaxAttempts: 1,
	})
}

func instance(n int) string {
	return fmt.Sprintf("arn:aws:ec2:us-east-1:123456789012:instance/i-%04d", n)
}

func tagAWS(t *testing.T, c *rgta.Client, arns []string, tags map[string]string) {
	t.Helper()
	for i := 0; i < len(arns); i += 20 {
		out, err := c.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: arns[i:min(i+20, len(arns))], Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		if out.FailedResourcesMap == nil || len(out.FailedResourcesMap) != 0 {
			t.Fatalf("FailedResourcesMap = %#v, want {}", out.FailedResourcesMap)
		}
	}
}

// tagsAWS reads one resource's tags with GetResources by ARN; nil when it is
// not listed.
func tagsAWS(t *testing.T, c *rgta.Client, a string) map[string]string {
	t.Helper()
	out, err := c.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourceARNList: []string{a}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ResourceTagMappingList) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, tg := range out.ResourceTagMappingList[0].Tags {
		if tg.Key == nil || tg.Value == nil {
			t.Fatalf("tag with a nil member: %#v", tg)
		}
		m[*tg.Key] = *tg.Value
	}
	return m
}

// wantAWSError checks that err is the modeled or named AWS error.
func wantAWSError[E error](t *testing.T, err error, code string) {
	t.Helper()
	var typed E
	var api smithy.APIError
	if !errors.As(err, &typed) || !errors.As(err, &api) || api.ErrorCode() != code || api.ErrorMessage() == "" {
		t.Fatalf("error %v (%T), want %s with a message", err, err, code)
	}
}

func TestAWSTagUntagGet(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		a, b, never := instance(1), "arn:aws:s3:::bucket-b", instance(9)
		tagAWS(t, c, []string{a, b}, map[string]string{"env": "prod", "team": "a", "empty": ""})

		out, err := c.GetResources(ctxT(t), &rgta.GetResourcesInput{TagFilters: []types.TagFilter{{Key: aws.String("env"), Values: []string{"prod"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.PaginationToken) != "" || len(out.ResourceTagMappingList) != 2 {
			t.Fatalf("GetResources = %d resources, token %q", len(out.ResourceTagMappingList), aws.ToString(out.PaginationToken))
		}
		for _, m := range out.ResourceTagMappingList {
			var keys []string
			for _, tg := range m.Tags {
				keys = append(keys, *tg.Key+"="+*tg.Value)
			}
			if strings.Join(keys, ",") != "empty=,env=prod,team=a" {
				t.Fatalf("%s tags %v", *m.ResourceARN, keys)
			}
		}

		// Untag is idempotent: absent keys and never-tagged resources succeed.
		for range 2 {
			u, err := c.UntagResources(ctxT(t), &rgta.UntagResourcesInput{ResourceARNList: []string{a, never}, TagKeys: []string{"team", "absent"}})
			if err != nil || len(u.FailedResourcesMap) != 0 {
				t.Fatalf("UntagResources = %v, %v", u, err)
			}
		}
		if got := tagsAWS(t, c, a); fmt.Sprint(got) != "map[empty: env:prod]" {
			t.Fatalf("after untag: %v", got)
		}
		if got := tagsAWS(t, c, never); got != nil {
			t.Fatalf("a never-tagged resource is listed: %v", got)
		}
		tagAWS(t, c, []string{a}, map[string]string{"env": "dev"})
		if got := tagsAWS(t, c, a); got["env"] != "dev" {
			t.Fatalf("overwrite: %v", got)
		}
		// Keys are case-sensitive.
		tagAWS(t, c, []string{a}, map[string]string{"Env": "X"})
		if got := tagsAWS(t, c, a); got["env"] != "dev" || got["Env"] != "X" {
			t.Fatalf("case: %v", got)
		}
	})
}

func TestAWSRequestLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		arns := func(n int) []string {
			var out []string
			for i := range n {
				out = append(out, instance(100+i))
			}
			return out
		}
		tags := func(n int) map[string]string {
			m := map[string]string{}
			for i := range n {
				m[fmt.Sprint("k", i)] = "v"
			}
			return m
		}
		keys := func(n int) []string {
			var out []string
			for i := range n {
				out = append(out, fmt.Sprint("k", i))
			}
			return out
		}
		long := func(n int) string { return strings.Repeat("é", n) }
		tag := func(a []string, tg map[string]string) error {
			_, err := c.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: a, Tags: tg})
			return err
		}
		untag := func(a []string, k []string) error {
			_, err := c.UntagResources(ctxT(t), &rgta.UntagResourcesInput{ResourceARNList: a, TagKeys: k})
			return err
		}
		one := []string{instance(1)}
		refused := []struct {
			name string
			err  error
		}{
			{"21 ARNs", tag(arns(21), tags(1))},
			{"no ARNs", tag([]string{}, tags(1))},
			{"51 tags", tag(one, tags(51))},
			{"no tags", tag(one, map[string]string{})},
			{"empty key", tag(one, map[string]string{"": "v"})},
			{"129-character key", tag(one, map[string]string{long(129): "v"})},
			{"257-character value", tag(one, map[string]string{"k": long(257)})},
			{"aws: key", tag(one, map[string]string{"aws:cloudformation:stack-name": "x"})},
			{"AWS: key", tag(one, map[string]string{"AWS:x": "x"})},
			{"untag aws: key", untag(one, []string{"ok", "aws:x"})},
			{"untag 21 ARNs", untag(arns(21), keys(1))},
			{"untag 51 keys", untag(one, keys(51))},
			{"untag no keys", untag(one, []string{})},
			{"malformed ARN", tag([]string{instance(1), "i-0123456789abcdef0"}, tags(1))},
			{"unknown partition", tag([]string{"arn:aws-xx:ec2:us-east-1:123456789012:instance/i-1"}, tags(1))},
			{"short account", tag([]string{"arn:aws:ec2:us-east-1:12345678901:instance/i-1"}, tags(1))},
			{"no resource", tag([]string{"arn:aws:ec2:us-east-1:123456789012:"}, tags(1))},
			{"1012-character ARN", tag([]string{"arn:aws:example:us-east-1:123456789012:" + strings.Repeat("b", 1012-39)}, tags(1))},
			{"other region", tag([]string{"arn:aws:ec2:eu-west-1:123456789012:instance/i-1"}, tags(1))},
			{"other partition", tag([]string{"arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-1"}, tags(1))},
		}
		for _, r := range refused {
			t.Run(r.name, func(t *testing.T) {
				wantAWSError[*types.InvalidParameterException](t, r.err, "InvalidParameterException")
			})
		}
		// Nothing a refused call named was changed.
		for _, a := range append(arns(21), instance(1)) {
			if got := tagsAWS(t, c, a); got != nil {
				t.Fatalf("%s changed by a refused call: %v", a, got)
			}
		}
		// The limits themselves are accepted.
		tagAWS(t, c, arns(20), tags(50))
		tagAWS(t, c, one, map[string]string{long(128): long(256), "aws-not-reserved": "", "x": "aws:values are fine"})
		if err := untag(arns(20), keys(50)); err != nil {
			t.Fatal(err)
		}
		tagAWS(t, c, []string{"arn:aws:example:us-east-1:123456789012:" + strings.Repeat("b", 1011-39), "arn:aws:iam::123456789012:role/r"}, tags(1))
	})
}

func TestAWSTagCap(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		full, other, system := instance(1), instance(2), instance(3)
		many := map[string]string{}
		for i := range 49 {
			many[fmt.Sprintf("k%02d", i)] = "v"
		}
		tagAWS(t, c, []string{full}, many)
		out, err := c.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: []string{full, other}, Tags: map[string]string{"new1": "x", "new2": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		f, ok := out.FailedResourcesMap[full]
		if len(out.FailedResourcesMap) != 1 || !ok || f.StatusCode != 400 || f.ErrorCode != types.ErrorCodeInvalidParameterException || aws.ToString(f.ErrorMessage) == "" {
			t.Fatalf("FailedResourcesMap = %#v", out.FailedResourcesMap)
		}
		if got := tagsAWS(t, c, full); len(got) != 49 || got["new1"] != "" {
			t.Fatalf("the refused resource changed: %d tags", len(got))
		}
		if got := tagsAWS(t, c, other); len(got) != 2 {
			t.Fatalf("the other resource was not tagged: %v", got)
		}
		// Overwriting at the cap is fine. aws: keys belong to AWS: the rules
		// of AWS resources refuse them on every surface, gRPC included.
		tagAWS(t, c, []string{full}, map[string]string{"k00": "changed", "new1": "x"})
		_, err = core(t, tw).TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{system}, Tags: map[string]string{"aws:cloudformation:stack-name": "s"}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `reserved prefix "aws:"`) {
			t.Fatalf("aws: key over gRPC: %v", err)
		}
	})
}

// pages runs GetResources through the SDK's paginator and returns the ARNs,
// checking every page against its limits.
func pages(t *testing.T, c *rgta.Client, in *rgta.GetResourcesInput) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	p := rgta.NewGetResourcesPaginator(c, in)
	for n := 0; p.HasMorePages(); n++ {
		if n > 200 {
			t.Fatal("paging does not end")
		}
		page, err := p.NextPage(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if tok := aws.ToString(page.PaginationToken); tok != "" {
			if seen[tok] {
				t.Fatal("a token came back twice")
			}
			seen[tok] = true
		}
		if in.ResourcesPerPage != nil && len(page.ResourceTagMappingList) > int(*in.ResourcesPerPage) {
			t.Fatalf("page of %d, ResourcesPerPage %d", len(page.ResourceTagMappingList), *in.ResourcesPerPage)
		}
		tags := 0
		for _, m := range page.ResourceTagMappingList {
			tags += max(1, len(m.Tags))
			out = append(out, *m.ResourceARN)
		}
		if in.TagsPerPage != nil && tags > int(*in.TagsPerPage) && len(page.ResourceTagMappingList) > 1 {
			t.Fatalf("page of %d tags, TagsPerPage %d", tags, *in.TagsPerPage)
		}
	}
	return out
}

func TestAWSGetResourcesPages(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		var yes, all []string
		for i := range 23 {
			yes = append(yes, instance(i))
		}
		tagAWS(t, c, yes, map[string]string{"page": "yes", "n": "1"})
		var no []string
		for i := range 5 {
			no = append(no, fmt.Sprintf("arn:aws:ec2:us-east-1:123456789012:volume/vol-%d", i))
		}
		tagAWS(t, c, no, map[string]string{"page": "no"})
		all = append(append(all, yes...), no...)
		sort.Strings(all)

		for _, size := range []int32{1, 5, 100} {
			got := pages(t, c, &rgta.GetResourcesInput{ResourcesPerPage: aws.Int32(size), TagFilters: []types.TagFilter{{Key: aws.String("page"), Values: []string{"yes"}}}})
			if !slices.Equal(got, yes) {
				t.Fatalf("ResourcesPerPage %d: %d resources %v", size, len(got), got)
			}
		}
		if got := pages(t, c, &rgta.GetResourcesInput{}); !slices.Equal(got, all) {
			t.Fatalf("no filter: %v", got)
		}
		// TagsPerPage: resources with 30 tags, at most three to a page of 100.
		heavy := []string{"arn:aws:s3:::heavy-1", "arn:aws:s3:::heavy-2", "arn:aws:s3:::heavy-3", "arn:aws:s3:::heavy-4", "arn:aws:s3:::heavy-5", "arn:aws:s3:::heavy-6", "arn:aws:s3:::heavy-7"}
		thirty := map[string]string{}
		for i := range 30 {
			thirty[fmt.Sprint("t", i)] = "v"
		}
		tagAWS(t, c, heavy, thirty)
		if got := pages(t, c, &rgta.GetResourcesInput{TagsPerPage: aws.Int32(100), ResourceTypeFilters: []string{"s3"}}); !slices.Equal(got, heavy) {
			t.Fatalf("TagsPerPage: %v", got)
		}

		// A token only goes with the request that earned it, and is opaque.
		first, err := c.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourcesPerPage: aws.Int32(2)})
		if err != nil || aws.ToString(first.PaginationToken) == "" {
			t.Fatal(first, err)
		}
		_, err = c.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourcesPerPage: aws.Int32(2), PaginationToken: first.PaginationToken, TagFilters: []types.TagFilter{{Key: aws.String("page")}}})
		wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
		_, err = c.GetResources(ctxT(t), &rgta.GetResourcesInput{PaginationToken: aws.String("eyJwYWdlIjoyfQ")})
		wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
		_, err = c.GetResources(ctxT(t), &rgta.GetResourcesInput{PaginationToken: aws.String(strings.Repeat("a", 8193))})
		wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")

		for name, in := range map[string]*rgta.GetResourcesInput{
			"ARNs with a page size":     {ResourceARNList: yes[:2], ResourcesPerPage: aws.Int32(5)},
			"ARNs with filters":         {ResourceARNList: yes[:2], TagFilters: []types.TagFilter{{Key: aws.String("page")}}},
			"ARNs with a token":         {ResourceARNList: yes[:2], PaginationToken: first.PaginationToken},
			"101 ARNs":                  {ResourceARNList: slices.Repeat(yes[:1], 101)},
			"ResourcesPerPage 0":        {ResourcesPerPage: aws.Int32(0)},
			"ResourcesPerPage 101":      {ResourcesPerPage: aws.Int32(101)},
			"TagsPerPage 99":            {TagsPerPage: aws.Int32(99)},
			"TagsPerPage 501":           {TagsPerPage: aws.Int32(501)},
			"51 filters":                {TagFilters: slices.Repeat([]types.TagFilter{{Key: aws.String("k")}}, 51)},
			"21 filter values":          {TagFilters: []types.TagFilter{{Key: aws.String("k"), Values: slices.Repeat([]string{"v"}, 21)}}},
			"filter without a key":      {TagFilters: []types.TagFilter{{Values: []string{"v"}}}},
			"bad resource type filter":  {ResourceTypeFilters: []string{"ec2:"}},
			"exclude without include":   {ExcludeCompliantResources: aws.Bool(true)},
			"malformed ARN in the list": {ResourceARNList: []string{"bucket"}},
			"101 resource type filters": {ResourceTypeFilters: slices.Repeat([]string{"ec2"}, 101)},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := c.GetResources(ctxT(t), in)
				wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
			})
		}

		// By ARN: unknown ARNs are left out, the order asked is kept.
		out, err := c.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourceARNList: []string{no[1], instance(999), yes[0]}})
		if err != nil || len(out.ResourceTagMappingList) != 2 || *out.ResourceTagMappingList[0].ResourceARN != no[1] || aws.ToString(out.PaginationToken) != "" {
			t.Fatalf("by ARN: %v, %v", out, err)
		}
	})
}

// TestAWSLongNamesPage checks that tagway accepts the tokens it issues even
// when a page ends at a resource part of many non-ASCII characters.
func TestAWSLongNamesPage(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		var want []string
		for i := range 3 {
			want = append(want, "arn:aws:example:us-east-1:123456789012:"+strings.Repeat("桶", 520)+fmt.Sprint(i))
		}
		tagAWS(t, c, want, map[string]string{"k": "v"})
		if got := pages(t, c, &rgta.GetResourcesInput{ResourcesPerPage: aws.Int32(1)}); !slices.Equal(got, want) {
			t.Fatalf("listed %d of %d", len(got), len(want))
		}
	})
}

func TestAWSPaginationTokenExpires(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		tagAWS(t, c, []string{instance(1), instance(2)}, map[string]string{"k": "v"})
		first, err := c.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourcesPerPage: aws.Int32(1)})
		if err != nil || aws.ToString(first.PaginationToken) == "" {
			t.Fatal(first, err)
		}
		time.Sleep(2100 * time.Millisecond)
		_, err = c.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourcesPerPage: aws.Int32(1), PaginationToken: first.PaginationToken})
		wantAWSError[*types.PaginationTokenExpiredException](t, err, "PaginationTokenExpiredException")
	}, "--page-token-ttl", "1s")
}

func TestAWSResourceTypesAndUntagged(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		inst, vol, bucket, db := instance(1), "arn:aws:ec2:us-east-1:123456789012:volume/vol-1", "arn:aws:s3:::bucket", "arn:aws:rds:us-east-1:123456789012:db:main"
		gone := instance(2)
		tagAWS(t, c, []string{inst, vol, bucket, db, gone}, map[string]string{"k": "v"})
		if _, err := c.UntagResources(ctxT(t), &rgta.UntagResourcesInput{ResourceARNList: []string{gone}, TagKeys: []string{"k"}}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			filters []string
			want    []string
		}{
			{[]string{"ec2"}, []string{inst, gone, vol}},
			{[]string{"ec2:instance"}, []string{inst, gone}},
			{[]string{"s3:bucket"}, []string{bucket}},
			{[]string{"rds:db", "s3"}, []string{db, bucket}},
			{[]string{"s3:accesspoint"}, nil},
			{[]string{"lambda"}, nil},
		} {
			got := pages(t, c, &rgta.GetResourcesInput{ResourceTypeFilters: tc.filters})
			sort.Strings(got)
			sort.Strings(tc.want)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("%v: %v, want %v", tc.filters, got, tc.want)
			}
		}
		// A resource whose tags are all gone is listed with no tags, but no
		// tag filter matches it.
		out, err := c.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourceTypeFilters: []string{"ec2:instance"}, IncludeComplianceDetails: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.ResourceTagMappingList {
			if *m.ResourceARN == gone && (m.Tags == nil || len(m.Tags) != 0) {
				t.Fatalf("untagged resource listed as %#v", m)
			}
			if m.ComplianceDetails == nil || !aws.ToBool(m.ComplianceDetails.ComplianceStatus) {
				t.Fatalf("compliance details: %#v", m.ComplianceDetails)
			}
		}
		if got := pages(t, c, &rgta.GetResourcesInput{TagFilters: []types.TagFilter{{Key: aws.String("k")}}}); slices.Contains(got, gone) {
			t.Fatal("a filter matched an untagged resource")
		}
		if got := pages(t, c, &rgta.GetResourcesInput{IncludeComplianceDetails: aws.Bool(true), ExcludeCompliantResources: aws.Bool(true)}); len(got) != 0 {
			t.Fatalf("non-compliant resources without tag policies: %v", got)
		}
	})
}

func TestAWSTagKeysAndValues(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		tagAWS(t, c, []string{instance(1)}, map[string]string{"env": "prod", "team": "a"})
		tagAWS(t, c, []string{instance(2)}, map[string]string{"env": "dev", "cost": ""})
		tagAWS(t, c, []string{"arn:aws:s3:::bkt"}, map[string]string{"env": "qa"})

		keys := func() []string {
			var out []string
			p := rgta.NewGetTagKeysPaginator(c, &rgta.GetTagKeysInput{})
			for p.HasMorePages() {
				page, err := p.NextPage(ctxT(t))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, page.TagKeys...)
			}
			return out
		}
		values := func(k string) []string {
			var out []string
			p := rgta.NewGetTagValuesPaginator(c, &rgta.GetTagValuesInput{Key: aws.String(k)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctxT(t))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, page.TagValues...)
			}
			return out
		}
		if got := keys(); !slices.Equal(got, []string{"cost", "env", "team"}) {
			t.Fatalf("keys %v", got)
		}
		if got := values("env"); !slices.Equal(got, []string{"dev", "prod", "qa"}) {
			t.Fatalf("env values %v", got)
		}
		if got := values("cost"); !slices.Equal(got, []string{""}) {
			t.Fatalf("cost values %q", got)
		}
		if got := values("nope"); len(got) != 0 {
			t.Fatalf("values of an unused key: %v", got)
		}
		if _, err := c.UntagResources(ctxT(t), &rgta.UntagResourcesInput{ResourceARNList: []string{instance(1)}, TagKeys: []string{"team", "env"}}); err != nil {
			t.Fatal(err)
		}
		if got := keys(); !slices.Equal(got, []string{"cost", "env"}) {
			t.Fatalf("keys after untag %v", got)
		}
		if got := values("env"); !slices.Equal(got, []string{"dev", "qa"}) {
			t.Fatalf("env values after untag %v", got)
		}
		_, err := c.GetTagValues(ctxT(t), &rgta.GetTagValuesInput{Key: aws.String("")})
		wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
		_, err = c.GetTagKeys(ctxT(t), &rgta.GetTagKeysInput{PaginationToken: aws.String("forged")})
		wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
	})
}

func TestAWSManyTagKeysPage(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		var want []string
		for r := range 24 {
			tags := map[string]string{}
			for k := range 50 {
				key := fmt.Sprintf("key-%02d-%02d", r, k)
				tags[key] = "v"
				want = append(want, key)
			}
			tagAWS(t, c, []string{instance(r)}, tags)
		}
		var got []string
		pagesSeen := 0
		p := rgta.NewGetTagKeysPaginator(c, &rgta.GetTagKeysInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			pagesSeen++
			got = append(got, page.TagKeys...)
		}
		if !slices.Equal(got, want) || pagesSeen < 2 {
			t.Fatalf("%d keys over %d pages, want %d over several", len(got), pagesSeen, len(want))
		}
	})
}

// TestAWSRegionScope checks that a call sees the region it is invoked in:
// its regional resources, the S3 buckets living there, and global resources
// only in the partition's global region (us-east-1), as on AWS.
func TestAWSRegionScope(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		east, west := awsClient(tw, "us-east-1"), awsClient(tw, "us-west-2")
		role, eastBucket, westBucket := "arn:aws:iam::123456789012:role/deploy", "arn:aws:s3:::east-bucket", "arn:aws:s3:::west-bucket"
		westInstance := "arn:aws:ec2:us-west-2:123456789012:instance/i-w"
		tagAWS(t, east, []string{instance(1), eastBucket, role}, map[string]string{"east": "1"})
		tagAWS(t, west, []string{westInstance, westBucket}, map[string]string{"west": "1"})

		// In open mode buckets belong to no account, and their group
		// (aws:<region>:) lists before the account's.
		if got := pages(t, west, &rgta.GetResourcesInput{}); !slices.Equal(got, []string{westBucket, westInstance}) {
			t.Fatalf("us-west-2 sees %v", got)
		}
		if got := pages(t, east, &rgta.GetResourcesInput{}); !slices.Equal(got, []string{role, eastBucket, instance(1)}) {
			t.Fatalf("us-east-1 sees %v", got)
		}
		keys, err := west.GetTagKeys(ctxT(t), &rgta.GetTagKeysInput{})
		if err != nil || !slices.Equal(keys.TagKeys, []string{"west"}) {
			t.Fatalf("us-west-2 keys %v, %v", keys, err)
		}
		values, err := east.GetTagValues(ctxT(t), &rgta.GetTagValuesInput{Key: aws.String("west")})
		if err != nil || len(values.TagValues) != 0 {
			t.Fatalf("us-east-1 values of west: %v, %v", values, err)
		}
		// By ARN: another region's resources, and global ones outside
		// us-east-1, are left out.
		out, err := west.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourceARNList: []string{instance(1), role, eastBucket, westBucket}})
		if err != nil || len(out.ResourceTagMappingList) != 1 || aws.ToString(out.ResourceTagMappingList[0].ResourceARN) != westBucket {
			t.Fatalf("us-west-2 reads by ARN: %v, %v", out, err)
		}
		// Changing another region's resource fails the whole call and
		// changes nothing: a regional ARN, a bucket living elsewhere, a
		// global resource outside us-east-1.
		for _, a := range []string{instance(1), eastBucket, role} {
			_, err = west.UntagResources(ctxT(t), &rgta.UntagResourcesInput{ResourceARNList: []string{westBucket, a}, TagKeys: []string{"east", "west"}})
			wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
		}
		if got := tagsAWS(t, west, westBucket); got["west"] != "1" {
			t.Fatalf("a refused call changed %s: %v", westBucket, got)
		}
		_, err = east.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: []string{westBucket}, Tags: map[string]string{"k": "v"}})
		wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
		// China is another partition.
		cn := awsClient(tw, "cn-north-1")
		tagAWS(t, cn, []string{"arn:aws-cn:s3:::cn-bucket"}, map[string]string{"cn": "1"})
		if got := pages(t, cn, &rgta.GetResourcesInput{}); !slices.Equal(got, []string{"arn:aws-cn:s3:::cn-bucket"}) {
			t.Fatalf("cn-north-1 sees %v", got)
		}
		// A bucket's home can be set over gRPC; one without a home is a
		// global resource.
		g := core(t, tw)
		if _, err := g.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{"arn:aws:s3:::grpc-west"}, Tags: map[string]string{"west": "2"}, HomeRegion: "us-west-2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := g.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{"arn:aws:s3:::grpc-nowhere"}, Tags: map[string]string{"east": "2"}}); err != nil {
			t.Fatal(err)
		}
		if got := pages(t, west, &rgta.GetResourcesInput{ResourceTypeFilters: []string{"s3"}}); !slices.Equal(got, []string{"arn:aws:s3:::grpc-west", westBucket}) {
			t.Fatalf("us-west-2 buckets: %v", got)
		}
		if got := pages(t, east, &rgta.GetResourcesInput{ResourceTypeFilters: []string{"s3:bucket"}}); !slices.Equal(got, []string{"arn:aws:s3:::grpc-nowhere", eastBucket}) {
			t.Fatalf("us-east-1 buckets: %v", got)
		}
	})
}

func TestAWSComplianceOperations(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		_, err := c.GetComplianceSummary(ctxT(t), &rgta.GetComplianceSummaryInput{})
		wantAWSError[*types.ConstraintViolationException](t, err, "ConstraintViolationException")
		_, err = c.StartReportCreation(ctxT(t), &rgta.StartReportCreationInput{S3Bucket: aws.String("reports")})
		wantAWSError[*types.ConstraintViolationException](t, err, "ConstraintViolationException")
		_, err = c.DescribeReportCreation(ctxT(t), &rgta.DescribeReportCreationInput{})
		wantAWSError[*types.ConstraintViolationException](t, err, "ConstraintViolationException")
	})
}

// TestAWSCrossSurface checks that the AWS dialect and the core gRPC API see
// the same tags.
func TestAWSCrossSurface(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c, g := awsClient(tw, region), core(t, tw)
		tagAWS(t, c, []string{instance(1)}, map[string]string{"via": "aws"})
		got, err := g.GetResourceTags(ctxT(t), &tagwayv1.GetResourceTagsRequest{Resources: []string{instance(1)}})
		if err != nil || len(got.GetResources()) != 1 || got.GetResources()[0].GetTags()[0].GetValue() != "aws" {
			t.Fatalf("gRPC sees %v, %v", got, err)
		}
		if _, err := g.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{instance(2)}, Tags: map[string]string{"via": "grpc"}}); err != nil {
			t.Fatal(err)
		}
		if got := tagsAWS(t, c, instance(2)); got["via"] != "grpc" {
			t.Fatalf("AWS sees %v", got)
		}
		if _, err := g.UntagResources(ctxT(t), &tagwayv1.UntagResourcesRequest{Resources: []string{instance(1)}, TagKeys: []string{"via"}}); err != nil {
			t.Fatal(err)
		}
		if got := tagsAWS(t, c, instance(1)); len(got) != 0 {
			t.Fatalf("AWS still sees %v", got)
		}
	})
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestAWSWire checks the bytes clients rely on, with plain HTTP.
func TestAWSWire(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		post := func(target, body string) (*http.Response, string) {
			req, _ := http.NewRequest(http.MethodPost, tw.URL()+"/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			if target != "" {
				req.Header.Set("X-Amz-Target", target)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		op := func(name string) string { return "ResourceGroupsTaggingAPI_20170126." + name }
		ids := map[string]bool{}
		for _, tc := range []struct {
			name, target, body string
			status             int
			errType            string
			bodyHas            string
		}{
			{"tag", op("TagResources"), `{"ResourceARNList":["arn:aws:s3:::wire"],"Tags":{"k":""}}`, 200, "", `{"FailedResourcesMap":{}}`},
			{"get", op("GetResources"), `{}`, 200, "", `"PaginationToken":""`},
			{"empty value kept", op("GetResources"), `{}`, 200, "", `"Value":""`},
			{"untag", op("UntagResources"), `{"ResourceARNList":["arn:aws:s3:::wire"],"TagKeys":["k"]}`, 200, "", `{"FailedResourcesMap":{}}`},
			{"empty body", op("GetTagKeys"), ``, 200, "", `"TagKeys":[]`},
			{"unknown member ignored", op("GetTagKeys"), `{"Future":1}`, 200, "", `"TagKeys"`},
			{"unknown operation", op("Nope"), `{}`, 400, "UnknownOperationException", ""},
			{"other service", "DynamoDB_20120810.ListTables", `{}`, 400, "UnknownOperationException", ""},
			{"no target", "", `{}`, 400, "UnknownOperationException", ""},
			{"not JSON", op("GetResources"), `{"ResourcesPerPage":`, 400, "SerializationException", ""},
			{"wrong type", op("TagResources"), `{"ResourceARNList":"arn:aws:s3:::wire","Tags":{"k":"v"}}`, 400, "SerializationException", ""},
			{"a string for a number", op("GetResources"), `{"ResourcesPerPage":"5"}`, 400, "SerializationException", "ResourcesPerPage"},
			{"a string for a boolean", op("GetResources"), `{"IncludeComplianceDetails":"true"}`, 400, "SerializationException", "IncludeComplianceDetails"},
			{"a proto name is no alias", op("TagResources"), `{"resource_arn_list":["arn:aws:s3:::wire"],"Tags":{"k":"v"}}`, 400, "InvalidParameterException", "ResourceARNList"},
			{"member names are case-sensitive", op("GetResources"), `{"resourcesPerPage":0}`, 200, "", `"ResourceTagMappingList"`},
			{"wrong item type", op("UntagResources"), `{"ResourceARNList":["arn:aws:s3:::wire"],"TagKeys":[1]}`, 400, "SerializationException", ""},
			{"array body", op("GetTagKeys"), `[]`, 400, "SerializationException", ""},
			{"trailing data", op("GetTagKeys"), `{} {}`, 400, "SerializationException", ""},
			{"invalid", op("UntagResources"), `{"ResourceARNList":[],"TagKeys":["k"]}`, 400, "InvalidParameterException", "ResourceARNList"},
			{"empty ARN list, proto name", op("GetResources"), `{"resource_arn_list":[]}`, 400, "InvalidParameterException", "ResourceARNList"},
			{"too large", op("TagResources"), `{"Tags":{"k":"` + strings.Repeat("v", 4<<20) + `"}}`, 413, "RequestEntityTooLargeException", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := post(tc.target, tc.body)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
					t.Fatalf("Content-Type %q", ct)
				}
				id := resp.Header.Get("X-Amzn-Requestid")
				if !uuidPattern.MatchString(id) || ids[id] {
					t.Fatalf("x-amzn-RequestId %q", id)
				}
				ids[id] = true
				if !strings.Contains(body, tc.bodyHas) {
					t.Fatalf("body %s lacks %s", body, tc.bodyHas)
				}
				if tc.errType == "" {
					return
				}
				want := `{"__type":"` + tc.errType + `","Message":"`
				if !strings.HasPrefix(body, want) || resp.Header.Get("X-Amzn-Errortype") != tc.errType {
					t.Fatalf("error body %s, X-Amzn-ErrorType %q; want %s", body, resp.Header.Get("X-Amzn-Errortype"), tc.errType)
				}
			})
		}
		// Any path with a target is served, for endpoints with a path.
		req, _ := http.NewRequest(http.MethodPost, tw.URL()+"/aws/tagging", bytes.NewReader([]byte(`{}`)))
		req.Header.Set("X-Amz-Target", op("GetTagKeys"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("path prefix: %v, %v", resp, err)
		}
		resp.Body.Close()
	})
}

// TestAWSStoreDown checks InternalServiceException when Redis is gone.
func TestAWSStoreDown(t *testing.T) {
	srvRedis, err := startRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer srvRedis.Stop()
	tw := tagwaytest.Start(t, binary, "--store", srvRedis.URL()+"?max_retries=-1&dial_timeout=300ms")
	c := awsClient(tw, region)
	tagAWS(t, c, []string{instance(1)}, map[string]string{"k": "v"})
	srvRedis.Stop()

	out, err := c.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: []string{instance(1), instance(2)}, Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{instance(1), instance(2)} {
		f := out.FailedResourcesMap[a]
		if f.StatusCode != 500 || f.ErrorCode != types.ErrorCodeInternalServiceException {
			t.Fatalf("FailedResourcesMap[%s] = %#v", a, f)
		}
	}
	_, err = c.GetResources(ctxT(t), &rgta.GetResourcesInput{})
	wantAWSError[*types.InternalServiceException](t, err, "InternalServiceException")
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Fatalf("status of %v", err)
	}
}
