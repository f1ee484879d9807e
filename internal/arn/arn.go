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
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return Name{}, fmt.Errorf("resource name %q does not have the form arn:<partition>:<service>:<region>:<account>:<resource>", s)
	}
	n := Name{Partition: f[1], Service: f[2], Region: f[3], Account: f[4], Resource: f[5]}
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

// Type returns the resource type: the resource part before its first "/" or
// ":", or "" when the resource part has neither.
func (n Name) Type() string {
	if i := strings.IndexAny(n.Resource, "/:"); i >= 0 {
		return n.Resource[:i]
	}
	return ""
}

// Namespace returns the namespace n belongs to, without an owner.
func (n Name) Namespace() Namespace {
	return Namespace{Partition: n.Partition, Service: n.Service, Region: n.Region, Account: n.Account, Type: n.Type()}
}

// Local returns what follows the namespace in n; Namespace().String() +
// Local() == String(). It is never empty.
func (n Name) Local() string {
	return n.Resource[len(n.Type()):]
}

// Namespace is the group of names that share partition, service, region,
// account and resource type, and, for names without an account, owner.
type Namespace struct {
	Partition, Service, Region, Account, Type string
	// Owner is, for names without an account, the account they belong to
	// ("" for none): resources such as S3 buckets, whose names carry no
	// account, are kept apart by owner. It is always "" when Account is set.
	Owner string
}

// ownedMark starts the type field of the Key of an owned namespace. Names
// hold no control characters, so no other namespace's Key contains it.
const ownedMark = "\x1f"

// String returns the prefix every name in ns starts with,
// "arn:<partition>:<service>:<region>:<account>:<type>"; the owner is not
// part of it.
func (ns Namespace) String() string {
	return "arn:" + ns.Partition + ":" + ns.Service + ":" + ns.Region + ":" + ns.Account + ":" + ns.Type
}

// Key returns the string that identifies ns among all namespaces, owner
// included: String() when ns has no owner, and otherwise
// "arn:<partition>:<service>:<region>:<owner>:\x1f<type>". The owner sits
// in the account field, so a range of keys by account holds the namespaces
// that account owns too.
func (ns Namespace) Key() string {
	if ns.Owner == "" {
		return ns.String()
	}
	return "arn:" + ns.Partition + ":" + ns.Service + ":" + ns.Region + ":" + ns.Owner + ":" + ownedMark + ns.Type
}

// EffectiveAccount returns the account ns belongs to: its account, or else
// its owner.
func (ns Namespace) EffectiveAccount() string {
	if ns.Account != "" {
		return ns.Account
	}
	return ns.Owner
}

// Name returns the name in ns whose local part is local.
func (ns Namespace) Name(local string) string {
	return ns.String() + local
}

// ParseNamespace parses the Key form of a namespace.
func ParseNamespace(s string) (Namespace, error) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" || strings.ContainsAny(f[5], "/:") {
		return Namespace{}, fmt.Errorf("%q is not a namespace", s)
	}
	ns := Namespace{Partition: f[1], Service: f[2], Region: f[3], Account: f[4], Type: f[5]}
	if typ, owned := strings.CutPrefix(ns.Type, ownedMark); owned {
		if ns.Account == "" {
			return Namespace{}, fmt.Errorf("%q is not a namespace: it has an owner mark but no owner", s)
		}
		ns.Owner, ns.Account, ns.Type = ns.Account, "", typ
	}
	return ns, nil
}
