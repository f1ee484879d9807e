package rules

import (
	"regexp"
	"unicode/utf8"

	"github.com/tagway/tagway/internal/arn"
)

// MaxARNLength is the longest ARN the tagging API's model accepts.
const MaxARNLength = 1011

// field says whether an ARN field must be set.
type field int

const (
	anyField field = iota // set or empty
	required              // set
	empty                 // empty
)

func (f field) ok(v string) bool {
	return f == anyField || (f == required) == (v != "")
}

// shape is one form of ARN a service uses: whether its region and account
// are set, and what its resource part looks like.
type shape struct {
	region, account field
	resource        *regexp.Regexp
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(`^(?:` + s + `)$`) }

// arnShapes are the ARN grammars of the services people tag most, from each
// service's "Actions, resources, and condition keys" page of the Service
// Authorization Reference. A service not listed gets only the generic
// check.
var arnShapes = map[string][]shape{
	"ec2": {{required, anyField, re(`[a-z][a-z0-9-]*/.+`)}},
	"s3": {
		{empty, empty, re(`[A-Za-z0-9._-]{3,255}(/.*)?`)},
		{required, required, re(`(accesspoint|job|storage-lens|storage-lens-group|access-grants|access-point-object-lambda)/.+`)},
		{empty, required, re(`accesspoint/.+`)},
	},
	"lambda": {{required, required, re(`function:[A-Za-z0-9_-]{1,140}(:[A-Za-z0-9$_-]+)?|layer:[A-Za-z0-9_-]+(:[0-9]+)?|event-source-mapping:[0-9a-f-]+|code-signing-config:csc-[a-z0-9]+`)}},
	"rds":    {{required, required, re(`[a-z][a-z-]*:.+`)}},
	"dynamodb": {{required, required, re(
		`table/[A-Za-z0-9_.-]{3,255}(/(stream|index|backup|export|import)/.+)?|global-table/[A-Za-z0-9_.-]{3,255}`)}},
	"elasticloadbalancing": {{required, required, re(
		`loadbalancer/(app|net|gwy)/[^/]+/[0-9a-f]+|loadbalancer/[^/]+|targetgroup/[^/]+/[0-9a-f]+|` +
			`listener/(app|net|gwy)/[^/]+/[0-9a-f]+/[0-9a-f]+|listener-rule/(app|net|gwy)/[^/]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+|` +
			`truststore/[^/]+/[0-9a-f]+`)}},
	"iam":  {{empty, required, re(`(role|user|group|policy|instance-profile|server-certificate|saml-provider|oidc-provider|mfa|sms-mfa)/.+`)}},
	"sns":  {{required, required, re(`[A-Za-z0-9_-]{1,256}(\.fifo)?(:[0-9a-f-]{36})?`)}},
	"sqs":  {{required, required, re(`[A-Za-z0-9_-]{1,80}(\.fifo)?`)}},
	"kms":  {{required, required, re(`key/[A-Za-z0-9-]+|alias/.+`)}},
	"logs": {{required, required, re(`log-group:[^:]+(:\*)?|destination:.+|delivery-source:.+|delivery:.+|delivery-destination:.+|anomaly-detector:.+`)}},
	"ecs":  {{required, required, re(`(cluster|service|task|task-definition|container-instance|capacity-provider|task-set)/.+`)}},
	"eks":  {{required, required, re(`(cluster|nodegroup|addon|fargateprofile|identityproviderconfig|podidentityassociation|access-entry)/.+`)}},
	"cloudfront": {{empty, required, re(
		`(distribution|streaming-distribution|function|origin-access-identity|origin-access-control|cache-policy|` +
			`origin-request-policy|response-headers-policy|realtime-log-config|field-level-encryption-config|` +
			`field-level-encryption-profile|key-group|continuous-deployment-policy|vpcorigin|distribution-tenant|` +
			`connection-group|anycastiplist)/.+`)}},
	"route53":    {{empty, empty, re(`(hostedzone|healthcheck|change|delegationset|trafficpolicy|trafficpolicyinstance|queryloggingconfig)/.+`)}},
	"apigateway": {{required, empty, re(`/(restapis|apis|domainnames|usageplans|apikeys|vpclinks|clientcertificates|domainnameaccessassociations)(/.*)?`)}},
}

// onlyOf reports whether s holds only lower-case letters, digits and, when
// dash, "-".
func onlyOf(s string, dash bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || dash && c == '-') {
			return false
		}
	}
	return true
}

// ValidService reports whether s is an AWS service name:
// [a-z0-9][a-z0-9-]*.
func ValidService(s string) bool { return s != "" && s[0] != '-' && onlyOf(s, true) }

// CheckARN reports whether n is a valid ARN of an AWS resource: at most
// MaxARNLength characters, an AWS partition, a service [a-z0-9][a-z0-9-]*, a
// region [a-z0-9-]*, an account of 12 digits or none, and, for the services
// of arnShapes, one of that service's forms.
func CheckARN(n arn.Name) bool {
	return utf8.RuneCountInString(n.String()) <= MaxARNLength && checkFields(n)
}

// checkFields is CheckARN but for the length.
func checkFields(n arn.Name) bool {
	if !IsAWSPartition(n.Partition) || !ValidService(n.Service) ||
		!onlyOf(n.Region, true) || n.Account != "" && (len(n.Account) != 12 || !isDigits(n.Account)) {
		return false
	}
	shapes, ok := arnShapes[n.Service]
	if !ok {
		return true
	}
	for _, s := range shapes {
		if s.region.ok(n.Region) && s.account.ok(n.Account) && s.resource.MatchString(n.Resource) {
			return true
		}
	}
	return false
}

// ParseARN parses s as the ARN of an AWS resource; false when it is not one
// (see CheckARN).
func ParseARN(s string) (arn.Name, bool) {
	if s == "" || utf8.RuneCountInString(s) > MaxARNLength {
		return arn.Name{}, false
	}
	n, err := arn.Parse(s)
	// n.String() is s, whose length is checked above.
	if err != nil || !checkFields(n) {
		return arn.Name{}, false
	}
	return n, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
