package e2e

import (
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
