package aws

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tagway/tagway/internal/arn"
)

// maxARNLength is the longest ARN the service model accepts.
const maxARNLength = 1011

// partitions are the AWS partitions; the dialect neither reads nor writes
// names in any other.
var partitions = arn.AWSPartitions

// onlyOf reports whether s holds only bytes of the given classes: 'a' for
// lower-case letters, '0' for digits, '-' for itself.
func onlyOf(s, classes string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' && strings.IndexByte(classes, 'a') >= 0:
		case '0' <= c && c <= '9' && strings.IndexByte(classes, '0') >= 0:
		case c == '-' && strings.IndexByte(classes, '-') >= 0:
		default:
			return false
		}
	}
	return true
}

// validService: [a-z0-9][a-z0-9-]*
func validService(s string) bool { return s != "" && s[0] != '-' && onlyOf(s, "a0-") }

// validRegion: [a-z0-9-]*
func validRegion(s string) bool { return onlyOf(s, "a0-") }

// validAccount: empty or 12 digits.
func validAccount(s string) bool { return s == "" || len(s) == 12 && onlyOf(s, "0") }

// parseARN checks an ARN the way the tagging API does before anything else:
// a malformed ARN fails the whole request.
func parseARN(s string) (arn.Name, *apiError) {
	bad := func() (arn.Name, *apiError) {
		return arn.Name{}, invalidParameter("%s is not a valid AmazonResourceName (ARN)", s)
	}
	if s == "" || utf8.RuneCountInString(s) > maxARNLength {
		return bad()
	}
	n, err := arn.Parse(s)
	if err != nil || !slices.Contains(partitions, n.Partition) || !validService(n.Service) ||
		!validRegion(n.Region) || !validAccount(n.Account) {
		return bad()
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

// inScope checks that an ARN may be changed from the region the API is
// invoked in: the same partition, and the same region unless the resource
// is global. A request that is not signed names no region and is not
// scoped.
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
	return nil
}
