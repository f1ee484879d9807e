package e2e

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"

	"github.com/tagway/tagway/internal/tagwaytest"
)

// TestAWSListRequiredTags: without tag policies no tag is required, on one
// page the SDK's paginator ends on.
func TestAWSListRequiredTags(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		p := rgta.NewListRequiredTagsPaginator(c, &rgta.ListRequiredTagsInput{MaxResults: aws.Int32(200)})
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if out.RequiredTags == nil || len(out.RequiredTags) != 0 {
				t.Fatalf("RequiredTags = %#v", out.RequiredTags)
			}
			if pages++; pages > 1 {
				t.Fatal("the paginator did not stop")
			}
		}
		_, err := c.ListRequiredTags(ctxT(t), &rgta.ListRequiredTagsInput{MaxResults: aws.Int32(201)})
		wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
		_, err = c.ListRequiredTags(ctxT(t), &rgta.ListRequiredTagsInput{NextToken: aws.String("forged")})
		wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
	})
}

// TestAWSARNGrammarAndCharacters checks the ARN grammar of the services
// people tag most, AWS's tag characters, and partitions in ResourceARNList.
func TestAWSARNGrammarAndCharacters(t *testing.T) {
	const acct = "123456789012"
	good := []string{
		"arn:aws:ec2:us-east-1:" + acct + ":instance/i-0123456789abcdef0",
		"arn:aws:ec2:us-east-1::image/ami-0123",
		"arn:aws:s3:::my-bucket.logs",
		"arn:aws:s3:us-east-1:" + acct + ":accesspoint/ap1",
		"arn:aws:lambda:us-east-1:" + acct + ":function:fn:prod",
		"arn:aws:rds:us-east-1:" + acct + ":db:main",
		"arn:aws:dynamodb:us-east-1:" + acct + ":table/Orders",
		"arn:aws:elasticloadbalancing:us-east-1:" + acct + ":loadbalancer/app/web/50dc6c495c0c9188",
		"arn:aws:elasticloadbalancing:us-east-1:" + acct + ":loadbalancer/classic-web",
		"arn:aws:elasticloadbalancing:us-east-1:" + acct + ":targetgroup/tg/73e2d6bc24d8a067",
		"arn:aws:iam::" + acct + ":role/path/deploy",
		"arn:aws:sns:us-east-1:" + acct + ":alerts.fifo",
		"arn:aws:sqs:us-east-1:" + acct + ":jobs",
		"arn:aws:kms:us-east-1:" + acct + ":key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:logs:us-east-1:" + acct + ":log-group:/aws/lambda/fn",
		"arn:aws:ecs:us-east-1:" + acct + ":cluster/main",
		"arn:aws:eks:us-east-1:" + acct + ":cluster/main",
		"arn:aws:cloudfront::" + acct + ":distribution/E2QWRUHAPOMQZL",
		"arn:aws:route53:::hostedzone/Z3M3LMPEXAMPLE",
		"arn:aws:apigateway:us-east-1::/restapis/a1b2c3",
		"arn:aws:example:us-east-1:" + acct + ":anything at all",
	}
	bad := []string{
		"arn:aws:ec2:us-east-1:" + acct + ":i-0123456789abcdef0", // no resource type
		"arn:aws:ec2::" + acct + ":instance/i-1",                 // no region
		"arn:aws:s3:::ab",                                        // too short a bucket
		"arn:aws:s3:us-east-1::bucket",                           // a bucket has no region
		"arn:aws:lambda:us-east-1:" + acct + ":fn",
		"arn:aws:dynamodb:us-east-1:" + acct + ":Orders",
		"arn:aws:elasticloadbalancing:us-east-1:" + acct + ":loadbalancer/app/web",
		"arn:aws:iam:us-east-1:" + acct + ":role/deploy", // IAM is global
		"arn:aws:iam::" + acct + ":robot/x",
		"arn:aws:sqs:us-east-1:" + acct + ":a/b",
		"arn:aws:kms:us-east-1:" + acct + ":1234",
		"arn:aws:cloudfront::" + acct + ":E2QWRUHAPOMQZL",
		"arn:aws:route53::" + acct + ":hostedzone/Z1",
		"arn:aws:apigateway:us-east-1::restapis/a1b2c3",
	}
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		for _, a := range good {
			if _, err := c.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: []string{a}, Tags: map[string]string{"k": "v"}}); err != nil {
				t.Errorf("%s: %v", a, err)
			}
		}
		for _, a := range bad {
			_, err := c.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: []string{good[0], a}, Tags: map[string]string{"k": "v"}})
			var ipe *types.InvalidParameterException
			if !errors.As(err, &ipe) || !strings.Contains(aws.ToString(ipe.Message), a+" is not a valid AmazonResourceName (ARN)") {
				t.Errorf("%s: %v", a, err)
			}
		}
		for _, tags := range []map[string]string{{"new\nline": "v"}, {"k": "nul\x00"}, {"hash#": "v"}, {"k": "tab\there"}} {
			_, err := c.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: []string{good[0]}, Tags: tags})
			wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
		}
		// Letters of any script, digits, spaces and _ . : / = + - @ are fine.
		tagAWS(t, c, []string{good[0]}, map[string]string{"Équipe 1 _.:/=+-@": "值 v"})
		// Removing is not held to the characters: whatever can be listed can
		// be removed.
		if _, err := c.UntagResources(ctxT(t), &rgta.UntagResourcesInput{ResourceARNList: []string{good[0]}, TagKeys: []string{"hash#"}}); err != nil {
			t.Fatal(err)
		}
		_, err := c.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourceARNList: []string{good[0], "arn:aws-cn:ec2:cn-north-1:" + acct + ":instance/i-1"}})
		wantAWSError[*types.InvalidParameterException](t, err, "InvalidParameterException")
	})
}

// TestAWSResourceTypeFilters checks that AWS's own type strings select what
// they select on AWS: subtypes of ELB load balancers, as the Prometheus
// CloudWatch exporters send them, and API Gateway's path-named resources.
func TestAWSResourceTypeFilters(t *testing.T) {
	const p = "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
	alb, nlb, classic, tg := p+"loadbalancer/app/web/50dc6c495c0c9188", p+"loadbalancer/net/edge/73e2d6bc24d8a067", p+"loadbalancer/old-web", p+"targetgroup/tg/73e2d6bc24d8a067"
	rest, http := "arn:aws:apigateway:us-east-1::/restapis/a1b2c3", "arn:aws:apigateway:us-east-1::/apis/d4e5f6"
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		c := awsClient(tw, region)
		tagAWS(t, c, []string{alb, nlb, classic, tg, rest, http}, map[string]string{"k": "v"})
		for filter, want := range map[string][]string{
			"elasticloadbalancing:loadbalancer/app": {alb},
			"elasticloadbalancing:loadbalancer/net": {nlb},
			"elasticloadbalancing:loadbalancer":     {classic, alb, nlb},
			"elasticloadbalancing:targetgroup":      {tg},
			"elasticloadbalancing":                  {classic, alb, nlb, tg},
			"apigateway:restapis":                   {rest},
			"apigateway:apis":                       {http},
			"apigateway":                            {http, rest},
		} {
			got := pages(t, c, &rgta.GetResourcesInput{ResourceTypeFilters: []string{filter}})
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s selects %v, want %v", filter, got, want)
			}
		}
	})
}
