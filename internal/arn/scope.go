package arn

// Scope selects namespaces by their fields. An empty list matches every value
// of its field; a list holding "" matches the empty value (resources without
// a region, an account or a type). Regions and accounts are matched against
// a namespace's effective region and account: a namespace without a region
// but with a home, or without an account but with an owner, is selected by
// its home or owner.
type Scope struct {
	Partitions []string
	Services   []string
	Regions    []string
	Accounts   []string
	Types      []string
}

// Match reports whether s selects ns.
func (s Scope) Match(ns Namespace) bool {
	return anyOf(s.Partitions, ns.Partition) &&
		anyOf(s.Services, ns.Service) &&
		anyOf(s.Regions, ns.EffectiveRegion()) &&
		anyOf(s.Accounts, ns.EffectiveAccount()) &&
		anyOf(s.Types, ns.Type)
}

func anyOf(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// MatchAny reports whether any scope selects ns; no scopes select everything.
func MatchAny(scopes []Scope, ns Namespace) bool {
	if len(scopes) == 0 {
		return true
	}
	for _, s := range scopes {
		if s.Match(ns) {
			return true
		}
	}
	return false
}

// Prefix returns a string the Key of every namespace selected by scopes
// starts with, so that a store can narrow its namespace lookup to a range.
func Prefix(scopes []Scope) string {
	if len(scopes) == 0 {
		return "arn:"
	}
	common := scopes[0].prefix()
	for _, s := range scopes[1:] {
		p := s.prefix()
		n := 0
		for n < len(common) && n < len(p) && common[n] == p[n] {
			n++
		}
		common = common[:n]
	}
	return common
}

// prefix returns the fixed leading part of the keys of the namespaces s
// selects: the fields up to the first one that is not pinned to a single
// value. It stops before the type, which an owned namespace's key does not
// start with (see Namespace.Key).
func (s Scope) prefix() string {
	p := "arn:"
	for _, f := range [][]string{s.Partitions, s.Services, s.Regions, s.Accounts} {
		if len(f) != 1 {
			return p
		}
		p += f[0] + ":"
	}
	return p
}
