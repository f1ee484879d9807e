package rules

import (
	"strings"

	"github.com/tagway/tagway/internal/arn"
)

// HuaweiType is one of the four taggable Organizations entities.
type HuaweiType struct {
	// Name is the type in canonical names: root, ou, account or policy.
	Name string
	// Path is the {resource_type} of the API: organizations:roots, ...
	Path string
	// prefix, chars and most say what its ids look like: prefix, then 1
	// to most of chars (for an account, exactly most).
	prefix string
	chars  func(c byte) bool
	most   int
}

func lowerOrDigit(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }
func hexDigit(c byte) bool     { return 'a' <= c && c <= 'f' || '0' <= c && c <= '9' }
func policyChar(c byte) bool   { return lowerOrDigit(c) || 'A' <= c && c <= 'Z' || c == '_' }

// HuaweiTypes are the taggable Organizations entities, with what their ids
// look like (docs/huawei.md): r-[0-9a-z]{1,32}, ou-[0-9a-z]{1,32},
// [0-9a-f]{32} and p-[0-9A-Za-z_]{1,127}.
var HuaweiTypes = []HuaweiType{
	{Name: "root", Path: "organizations:roots", prefix: "r-", chars: lowerOrDigit, most: 32},
	{Name: "ou", Path: "organizations:ous", prefix: "ou-", chars: lowerOrDigit, most: 32},
	{Name: "account", Path: "organizations:accounts", chars: hexDigit, most: 32},
	{Name: "policy", Path: "organizations:policies", prefix: "p-", chars: policyChar, most: 127},
}

// matches reports whether id is an id of t. It is hand-written rather than
// a regular expression because every Huawei call checks an id, twice.
func (t HuaweiType) matches(id string) bool {
	rest, ok := strings.CutPrefix(id, t.prefix)
	if !ok || rest == "" || len(rest) > t.most || t.prefix == "" && len(rest) != t.most {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if !t.chars(rest[i]) {
			return false
		}
	}
	return true
}

// HuaweiTypeOfID returns the type an Organizations id is of.
func HuaweiTypeOfID(id string) (HuaweiType, bool) {
	for _, t := range HuaweiTypes {
		if t.matches(id) {
			return t, true
		}
	}
	return HuaweiType{}, false
}

// validDomain reports whether s is a Huawei Cloud account (domain) id: 32
// lower-case hexadecimal digits.
func validDomain(s string) bool { return HuaweiTypes[2].matches(s) }

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
	if n.Account != "" && !validDomain(n.Account) {
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
