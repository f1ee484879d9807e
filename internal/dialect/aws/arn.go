package aws

import (
	"strings"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/rules"
)

// partitions are the AWS partitions; the dialect neither reads nor writes
// names in any other.
var partitions = arn.AWSPartitions

// parseARN checks an ARN the way the tagging API does before anything else
// (rules.ParseARN, the core's own rule for AWS names): a malformed ARN fails
// the whole request.
func parseARN(s string) (arn.Name, *apiError) {
	n, ok := rules.ParseARN(s)
	if !ok {
		return arn.Name{}, invalidParameter("%s is not a valid AmazonResourceName (ARN)", s)
	}
	return n, nil
}

// partitionOf returns the partition a region belongs to.
func partitionOf(region string) string {
	for _, p := range []struct{ prefix, partition string }{
		{"cn-", "aws-cn"}, {"us-gov-", "aws-us-gov"}, {"us-isob-", "aws-iso-b"}, {"us-isof-", "aws-iso-f"},
		{"eu-isoe-", "aws-iso-e"}, {"us-iso-", "aws-iso"}, {"eusc-", "aws-eusc"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return "aws"
}

// inScope checks that an ARN may be read or changed from the region the API
// is invoked in: the same partition; the same region, or, for a global
// resource (no region in its ARN), the partition's global region, as AWS
// lists global resources only there. An S3 bucket's ARN has no region but
// the bucket lives in one: the core checks it (home_region). A request that
// is not signed names no region and is not scoped.
func inScope(n arn.Name, region string) *apiError {
	if region == "" {
		return nil
	}
	if p := partitionOf(region); n.Partition != p {
		return invalidParameter("the partition of the ARN %s does not match the partition %s of the region %s in which the API is invoked", n, p, region)
	}
	if n.Region != "" && n.Region != region {
		return invalidParameter("Region in the ARN %s does not match with the region in which the API is invoked (%s)", n, region)
	}
	if global := rules.GlobalRegion(n.Partition); n.Region == "" && !n.Homed() && region != global {
		return invalidParameter("%s is a global resource: its tags are read and changed in %s, not in the region in which the API is invoked (%s)", n, global, region)
	}
	return nil
}
