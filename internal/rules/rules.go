// Package rules says what each kind of resource accepts, as data: how many
// tags, which keys and values, and which names, for AWS resources and for
// Huawei Cloud Organizations resources. The core applies a resource's rules
// whichever surface writes, so that nothing one surface stores is
// unreadable or unrepairable through another.
package rules

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tagway/tagway/internal/arn"
)

// Chars is a character rule for tag keys and values.
type Chars int

const (
	// AnyChars accepts every character.
	AnyChars Chars = iota
	// AWSChars accepts letters, digits, white space and _ . : / = + - @,
	// AWS's tag character set.
	AWSChars
	// HuaweiChars is AWSChars without leading or trailing white space,
	// Huawei Cloud's rule (TMS).
	HuaweiChars
)

// Stricter returns the stricter of c and d.
func (c Chars) Stricter(d Chars) Chars { return max(c, d) }

// Problem says what is wrong with s, a tag key or value ("what"), under c,
// or "".
func (c Chars) Problem(what, s string) string {
	if c == AnyChars {
		return ""
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Z, r) || strings.ContainsRune("_.:/=+-@", r)) {
			return fmt.Sprintf("the %s %q contains %q; only letters, digits, white space and _ . : / = + - @ are allowed", what, s, r)
		}
	}
	if c == HuaweiChars && s != "" {
		first, _ := utf8.DecodeRuneInString(s)
		last, _ := utf8.DecodeLastRuneInString(s)
		if isSpace(first) || isSpace(last) {
			return fmt.Sprintf("the %s %q starts or ends with white space", what, s)
		}
	}
	return ""
}

func isSpace(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Z, r) }

// Kind is the rules of one kind of resource.
type Kind struct {
	// Name names the kind in messages: "AWS", "Huawei Cloud Organizations".
	Name string
	// MaxTags is how many tags a resource may carry, not counting keys with
	// a reserved prefix.
	MaxTags int
	// MaxValueLength bounds a tag value, in Unicode characters.
	MaxValueLength int
	// Reserved are key prefixes, in lower case and matched without regard to
	// ASCII case, that no caller may set or remove.
	Reserved []string
	// Chars is the character rule for keys and values that are set; keys
	// being removed are not checked, so that whatever a client can list it
	// can remove.
	Chars Chars
	// checkName says what is wrong with a name of this kind, or "".
	checkName func(arn.Name) string
}

// CheckName says what is wrong with n, a name of this kind, or "".
func (k *Kind) CheckName(n arn.Name) string {
	if k.checkName == nil {
		return ""
	}
	return k.checkName(n)
}

// AWS is the kind of every name in an AWS partition.
var AWS = &Kind{
	Name: "AWS", MaxTags: 50, MaxValueLength: 256,
	Reserved: []string{"aws:"}, Chars: AWSChars,
	checkName: func(n arn.Name) string {
		if CheckARN(n) {
			return ""
		}
		return n.String() + " is not a valid AmazonResourceName (ARN)"
	},
}

// HuaweiPartition and HuaweiService name Huawei Cloud Organizations
// resources.
const (
	HuaweiPartition = "huaweicloud"
	HuaweiService   = "organizations"
)

// Huawei is the kind of Huawei Cloud Organizations resources.
var Huawei = &Kind{
	Name: "Huawei Cloud Organizations", MaxTags: 20, MaxValueLength: 255,
	Reserved: []string{"_sys_"}, Chars: HuaweiChars,
	checkName: checkHuaweiName,
}

// For returns the kind of n, or nil for a name of no known kind, which only
// the server's own ceilings bound.
func For(n arn.Name) *Kind {
	switch {
	case n.Partition == HuaweiPartition && n.Service == HuaweiService:
		return Huawei
	case IsAWSPartition(n.Partition):
		return AWS
	}
	return nil
}

// IsAWSPartition reports whether p is a partition of AWS.
func IsAWSPartition(p string) bool {
	for _, q := range arn.AWSPartitions {
		if p == q {
			return true
		}
	}
	return false
}

// globalRegions are, per AWS partition, the region whose calls see the
// resources of global services, those with no region in their ARNs
// (CloudFront, Route 53, IAM): us-east-1 in aws (cloud-custodian#2729 and
// the Resource Groups user guide), us-gov-west-1 in aws-us-gov (cloud-custodian's
// get_resource_tagging_region). The others are tagway's choice: the
// partition's first region, and for aws-cn the region CloudFront and Route 53
// sign in (docs/aws.md).
var globalRegions = map[string]string{
	"aws":        "us-east-1",
	"aws-us-gov": "us-gov-west-1",
	"aws-cn":     "cn-northwest-1",
	"aws-iso":    "us-iso-east-1",
	"aws-iso-b":  "us-isob-east-1",
	"aws-iso-e":  "eu-isoe-west-1",
	"aws-iso-f":  "us-isof-south-1",
	"aws-eusc":   "eusc-de-east-1",
}

// GlobalRegion returns the region in which the global resources of an AWS
// partition are seen and tagged; "" for another partition.
func GlobalRegion(partition string) string { return globalRegions[partition] }
