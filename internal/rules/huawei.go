package rules

import (
	"regexp"
	"strings"

	"github.com/tagway/tagway/internal/arn"
)

// HuaweiType is one of the four taggable Organizations entities.
type HuaweiType struct {
	// Name is the type in canonical names: root, ou, account or policy.
	Name string
	// Path is the {resource_type} of the API: organizations:roots, ...
	Path string
	id   *regexp.Regexp
}

// HuaweiTypes are the taggable Organizations entities, with what their ids
// look like (docs/huawei.md).
var HuaweiTypes = []HuaweiType{
	{"root", "organizations:roots", regexp.MustCompile(`^r-[0-9a-z]{1,32}$`)},
	{"ou", "organizations:ous", regexp.MustCompile(`^ou-[0-9a-z]{1,32}$`)},
	{"account", "organizations:accounts", regexp.MustCompile(`^[0-9a-f]{32}$`)},
	{"policy", "organizations:policies", regexp.MustCompile(`^p-[0-9A-Za-z_]{1,127}$`)},
}

// HuaweiTypeOfID returns the type an Organizations id is of.
func HuaweiTypeOfID(id string) (HuaweiType, bool) {
	for _, t := range HuaweiTypes {
		if t.id.MatchString(id) {
			return t, true
		}
	}
	return HuaweiType{}, false
}

// domainPattern is a Huawei Cloud account (domain) id.
var domainPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkHuaweiName accepts arn:huaweicloud:organizations::<domain>:<type>/<id>
// with no region, a domain of 32 hexadecimal digits or none, and an id of
// the type: the names the Huawei dialect can name.
func checkHuaweiName(n arn.Name) string {
	bad := func(why string) string {
		return n.String() + " is not the name of a Huawei Cloud Organizations resource: " + why
	}
	if n.Region != "" {
		return bad("it has a region")
	}
	if n.Account != "" && !domainPattern.MatchString(n.Account) {
		return bad("its account is not 32 lower-case hexadecimal digits")
	}
	typ, id, ok := strings.Cut(n.Resource, "/")
	if !ok {
		return bad("it has no type/id")
	}
	t, ok := HuaweiTypeOfID(id)
	if !ok || t.Name != typ {
		return bad("its id is not one of its type (" + typ + "); ids are r-... for a root, ou-... for an OU, 32 hexadecimal digits for an account, p-... for a policy")
	}
	return ""
}
