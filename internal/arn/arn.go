// Package arn parses tagway's canonical resource names, which have the shape
// of Amazon Resource Names, and selects them by scope.
//
// A canonical name is
//
//	arn:<partition>:<service>:<region>:<account>:<resource>
//
// The resource part may carry a type: the text before its first "/" or ":"
// ("instance" in "instance/i-1"). Everything up to and including the type is
// the name's namespace, the unit in which stores shard and index resources.
package arn

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AWSPartitions are the partitions of Amazon Web Services.
var AWSPartitions = []string{"aws", "aws-cn", "aws-eusc", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-us-gov"}

// MaxLength is the longest canonical name, in Unicode characters.
const MaxLength = 1024

// maxFieldLength bounds each of the partition, service, region and account.
const maxFieldLength = 63

// Name is a parsed canonical resource name.
type Name struct {
	Partition string
	Service   string
	Region    string
	Account   string
	// Resource is the sixth field; it may itself contain ":" and "/".
	Resource string
}

// Parse parses and validates a canonical name.
func Parse(s string) (Name, error) {
	if s == "" {
		return Name{}, errors.New("resource name is empty")
	}
	if !utf8.ValidString(s) {
		return Name{}, fmt.Errorf("resource name %q is not valid UTF-8", s)
	}
	if n := utf8.RuneCountInString(s); n > MaxLength {
		return Name{}, fmt.Errorf("resource name is %d characters long, more than %d", n, MaxLength)
	}
	n, ok := split(s)
	if !ok {
		return Name{}, fmt.Errorf("resource name %q does not have the form arn:<partition>:<service>:<region>:<account>:<resource>", s)
	}
	for _, c := range []struct{ what, v string }{
		{"partition", n.Partition}, {"service", n.Service},
	} {
		if c.v == "" {
			return Name{}, fmt.Errorf("resource name %q has an empty %s", s, c.what)
		}
	}
	for _, c := range []struct{ what, v string }{
		{"partition", n.Partition}, {"service", n.Service}, {"region", n.Region}, {"account", n.Account},
	} {
		if err := CheckField(c.v); err != nil {
			return Name{}, fmt.Errorf("resource name %q: %s %w", s, c.what, err)
		}
	}
	if n.Resource == "" {
		return Name{}, fmt.Errorf("resource name %q has an empty resource part", s)
	}
	if i := strings.IndexFunc(n.Resource, unicode.IsControl); i >= 0 {
		return Name{}, fmt.Errorf("resource name %q contains a control character", s)
	}
	return n, nil
}

// split cuts s at its first five colons, as strings.SplitN(s, ":", 6)
// does, without allocating: false unless there are five and the first
// field is "arn".
func split(s string) (Name, bool) {
	var f [5]string
	rest := s
	for i := range f {
		var ok bool
		if f[i], rest, ok = strings.Cut(rest, ":"); !ok {
			return Name{}, false
		}
	}
	return Name{Partition: f[1], Service: f[2], Region: f[3], Account: f[4], Resource: rest}, f[0] == "arn"
}

// CheckField accepts a partition, service, region or account: up to 63
// ASCII letters, digits, "-", "_" and ".".
func CheckField(v string) error {
	if len(v) > maxFieldLength {
		return fmt.Errorf("is longer than %d characters", maxFieldLength)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%q may hold only letters, digits, '-', '_' and '.'", v)
		}
	}
	return nil
}

// String returns the canonical form of n.
func (n Name) String() string {
	return "arn:" + n.Partition + ":" + n.Service + ":" + n.Region + ":" + n.Account + ":" + n.Resource
}

// subtypes are, per service, the resource types whose next path segment is
// part of the type, as AWS's type strings have it: an ALB is an
// "elasticloadbalancing:loadbalancer/app", its ARN's resource part
// "loadbalancer/app/<name>/<id>".
var subtypes = map[string]map[string][]string{
	"elasticloadbalancing": {
		"loadbalancer":  {"app", "net", "gwy"},
		"listener":      {"app", "net", "gwy"},
		"listener-rule": {"app", "net", "gwy"},
	},
}

// Type returns the resource type, the leading part of the resource that
// AWS's type strings name:
//
//   - for a resource part starting with "/" (API Gateway's "/restapis/<id>"),
//     "/" and the first segment ("/restapis"), when another "/" follows;
//   - for a type with subtypes (ELB's "loadbalancer/app/..."), the type and
//     its subtype ("loadbalancer/app");
//   - otherwise the text before the first "/" or ":" ("instance" in
//     "instance/i-1"), or "" when there is neither (an S3 bucket).
//
// The rest of the resource part, Local, is never empty.
func (n Name) Type() string {
	r := n.Resource
	if strings.HasPrefix(r, "/") {
		if i := strings.IndexByte(r[1:], '/'); i >= 0 {
			return r[:1+i]
		}
		return ""
	}
	i := strings.IndexAny(r, "/:")
	if i < 0 {
		return ""
	}
	if subs, ok := subtypes[n.Service][r[:i]]; ok && r[i] == '/' {
		rest := r[i+1:]
		for _, sub := range subs {
			if len(rest) > len(sub) && rest[len(sub)] == '/' && rest[:len(sub)] == sub {
				return r[:i+1+len(sub)]
			}
		}
	}
	return r[:i]
}

// SelectTypes returns the namespace types that an AWS type string of
// service selects: the type itself, its "/" form for resources named by a
// path (API Gateway's "restapis" selects "/restapis"), and its subtypes
// (ELB's "loadbalancer" also selects "loadbalancer/app" and the others, as
// on AWS).
func SelectTypes(service, typ string) []string {
	out := []string{typ, "/" + typ}
	for _, sub := range subtypes[service][typ] {
		out = append(out, typ+"/"+sub)
	}
	return out
}

// homed are, per service, the types of resources that have no region in
// their names but live in one: S3 buckets. Such a name's namespace carries
// the region it lives in, its home (see Namespace.Home).
var homed = map[string]string{"s3": ""}

// Homed reports whether n names a resource of an AWS partition that lives
// in a region its name does not carry.
func (n Name) Homed() bool {
	if n.Region != "" || !slices.Contains(AWSPartitions, n.Partition) {
		return false
	}
	typ, ok := homed[n.Service]
	return ok && n.Type() == typ
}

// Placed reports whether n's namespace depends on facts recorded with the
// resource rather than on n alone: its owner (n has no account) or its home
// region (n is Homed).
func (n Name) Placed() bool { return n.Account == "" || n.Homed() }

// Namespace returns the namespace n belongs to, without an owner or a home.
func (n Name) Namespace() Namespace {
	return Namespace{Partition: n.Partition, Service: n.Service, Region: n.Region, Account: n.Account, Type: n.Type()}
}

// Local returns what follows the namespace in n; Namespace().String() +
// Local() == String(). It is never empty.
func (n Name) Local() string {
	return n.Resource[len(n.Type()):]
}

// Namespace is the group of names that share partition, service, region,
// account and resource type, and, for names without an account, owner, and
// for Homed names, home region.
type Namespace struct {
	Partition, Service, Region, Account, Type string
	// Owner is, for names without an account, the account they belong to
	// ("" for none): resources such as S3 buckets, whose names carry no
	// account, are kept apart by owner. It is always "" when Account is set.
	Owner string
	// Home is, for Homed names, the region the resources live in ("" for
	// none known). It is always "" when Region is set.
	Home string
}

// homeMark and ownedMark start the type field of the Key of a namespace
// with a home or an owner. Names hold no control characters, so no other
// namespace's Key contains them.
const (
	homeMark  = "\x1e"
	ownedMark = "\x1f"
)

// String returns the prefix every name in ns starts with,
// "arn:<partition>:<service>:<region>:<account>:<type>"; the owner is not
// part of it.
func (ns Namespace) String() string {
	return "arn:" + ns.Partition + ":" + ns.Service + ":" + ns.Region + ":" + ns.Account + ":" + ns.Type
}

// Key returns the string that identifies ns among all namespaces, owner and
// home included: String() when ns has neither, and otherwise
// "arn:<partition>:<service>:<home>:<owner>:<marks><type>", where the marks
// are \x1e when the region field holds a home and \x1f when the account
// field holds an owner. Home and owner sit in the region and account fields,
// so a range of keys by region and account holds the namespaces living in
// that region and owned by that account too.
func (ns Namespace) Key() string {
	if ns.Owner == "" && ns.Home == "" {
		return ns.String()
	}
	marks := ""
	if ns.Home != "" {
		marks = homeMark
	}
	if ns.Owner != "" {
		marks += ownedMark
	}
	return "arn:" + ns.Partition + ":" + ns.Service + ":" + ns.EffectiveRegion() + ":" + ns.EffectiveAccount() + ":" + marks + ns.Type
}

// EffectiveAccount returns the account ns belongs to: its account, or else
// its owner.
func (ns Namespace) EffectiveAccount() string {
	if ns.Account != "" {
		return ns.Account
	}
	return ns.Owner
}

// EffectiveRegion returns the region ns lives in: its region, or else its
// home.
func (ns Namespace) EffectiveRegion() string {
	if ns.Region != "" {
		return ns.Region
	}
	return ns.Home
}

// Name returns the name in ns whose local part is local.
func (ns Namespace) Name(local string) string {
	return ns.String() + local
}

// ParseNamespace parses the Key form of a namespace.
func ParseNamespace(s string) (Namespace, error) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" || strings.Contains(f[5], ":") {
		return Namespace{}, fmt.Errorf("%q is not a namespace", s)
	}
	ns := Namespace{Partition: f[1], Service: f[2], Region: f[3], Account: f[4], Type: f[5]}
	if typ, homed := strings.CutPrefix(ns.Type, homeMark); homed {
		if ns.Region == "" {
			return Namespace{}, fmt.Errorf("%q is not a namespace: it has a home mark but no home", s)
		}
		ns.Home, ns.Region, ns.Type = ns.Region, "", typ
	}
	if typ, owned := strings.CutPrefix(ns.Type, ownedMark); owned {
		if ns.Account == "" {
			return Namespace{}, fmt.Errorf("%q is not a namespace: it has an owner mark but no owner", s)
		}
		ns.Owner, ns.Account, ns.Type = ns.Account, "", typ
	}
	return ns, nil
}
