package arn

import (
	"fmt"
	"slices"
	"strings"
)

// Group is the unit in which stores keep, index and shard resources: every
// resource of one partition that lives in one region (or in none) and
// belongs to one account (or to none), whatever its service and type. A
// resource whose name has no account (an S3 bucket) belongs to the group of
// its owner, and one whose name has no region but that lives in one (a
// bucket, Homed) to the group of its home. The listings a dialect makes (an
// AWS account in a region, a Huawei organization) each read a group or two,
// however many services and types they hold.
type Group struct {
	Partition, Region, Account string
}

// Key returns "<partition>:<region>:<account>", which identifies g.
func (g Group) Key() string { return g.Partition + ":" + g.Region + ":" + g.Account }

// ParseGroup parses the Key form of a group.
func ParseGroup(s string) (Group, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 || f[0] == "" {
		return Group{}, fmt.Errorf("%q is not a group", s)
	}
	for _, v := range f {
		if err := CheckField(v); err != nil {
			return Group{}, fmt.Errorf("%q is not a group: %v", s, err)
		}
	}
	return Group{Partition: f[0], Region: f[1], Account: f[2]}, nil
}

// identSep ends the namespace part of an Ident. Names hold no control
// characters, so it cannot occur in one.
const identSep = "\x1f"

// Ident returns n's identifier within its group: its service, which of its
// region and account its name carries ("r", "a", "ra" or ""; their values
// are the group's), its type, "\x1f" and its local part,
// "<service>:<flags>:<type>\x1f<local>". Idents sort by service, then by
// those flags and type, then local part, so the resources of one namespace
// are a contiguous range of them (IdentRanges); and they are short,
// which keeps the store's indexes small and fast.
func (n Name) Ident() string {
	return n.Service + ":" + identFlags(n.Region != "", n.Account != "") + ":" + n.Type() + identSep + n.Local()
}

func identFlags(region, account bool) string {
	switch {
	case region && account:
		return "ra"
	case region:
		return "r"
	case account:
		return "a"
	}
	return ""
}

// Group returns the group of n when its owner (for a name without an
// account) and its home (for a Homed name) are as given.
func (n Name) Group(owner, home string) Group {
	g := Group{Partition: n.Partition, Region: n.Region, Account: n.Account}
	if g.Account == "" {
		g.Account = owner
	}
	if n.Homed() {
		g.Region = home
	}
	return g
}

// Name returns the name of the resource ident identifies in g.
func (g Group) Name(ident string) string {
	service, rest, _ := strings.Cut(ident, ":")
	flags, rest, _ := strings.Cut(rest, ":")
	region, account := "", ""
	if strings.Contains(flags, "r") {
		region = g.Region
	}
	if strings.Contains(flags, "a") {
		account = g.Account
	}
	return "arn:" + g.Partition + ":" + service + ":" + region + ":" + account + ":" + strings.Replace(rest, identSep, "", 1)
}

// namespacePrefix returns the prefix of the idents of the names of ns.
func namespacePrefix(ns Namespace) string {
	return ns.Service + ":" + identFlags(ns.Region != "", ns.Account != "") + ":" + ns.Type + identSep
}

// IdentRanges returns the ranges of Idents that kinds select in g, sorted
// and disjoint; every Ident when kinds is nil. Within g a name carries g's
// region and account or none (a bucket placed there), so each type is at
// most four ranges, and a service one.
func IdentRanges(g Group, kinds []Kind) []KeyRange {
	everything := []KeyRange{{Low: "", High: "\xff"}} // names hold no 0xff byte
	if kinds == nil {
		return everything
	}
	var out []KeyRange
	for _, k := range kinds {
		if k.Service == "" {
			return everything
		}
		if k.AnyType {
			out = append(out, KeyRange{Low: k.Service + ":", High: k.Service + ";"})
			continue
		}
		for _, region := range []string{g.Region, ""} {
			for _, account := range []string{g.Account, ""} {
				p := namespacePrefix(Namespace{Service: k.Service, Region: region, Account: account, Type: k.Type})
				out = append(out, KeyRange{Low: p, High: p[:len(p)-1] + "\x20"})
			}
		}
	}
	return mergeRanges(out)
}

// IdentKind returns the service and type of the resource ident identifies.
func IdentKind(ident string) (service, typ string) {
	service, rest, _ := strings.Cut(ident, ":")
	_, rest, _ = strings.Cut(rest, ":")
	typ, _, _ = strings.Cut(rest, identSep)
	return service, typ
}

// Kind selects resources by service and type within a group: Service ""
// selects every service, AnyType every type.
type Kind struct {
	Service, Type string
	AnyType       bool
}

// Matches reports whether k selects resources of service and type.
func (k Kind) Matches(service, typ string) bool {
	return (k.Service == "" || k.Service == service) && (k.AnyType || k.Type == typ)
}

// MatchesGroup reports whether s may select resources of g: its partitions,
// regions and accounts, which for a group are the effective ones.
func (s Scope) MatchesGroup(g Group) bool {
	return anyOf(s.Partitions, g.Partition) && anyOf(s.Regions, g.Region) && anyOf(s.Accounts, g.Account)
}

// Kinds returns the services and types that scopes select in g; nil when
// they select every resource of g, and an empty non-nil list when none.
func Kinds(scopes []Scope, g Group) []Kind {
	if len(scopes) == 0 {
		return nil
	}
	out := []Kind{}
	for _, s := range scopes {
		if !s.MatchesGroup(g) {
			continue
		}
		if len(s.Services) == 0 && len(s.Types) == 0 {
			return nil
		}
		services := s.Services
		if len(services) == 0 {
			services = []string{""}
		}
		for _, svc := range services {
			if len(s.Types) == 0 {
				out = append(out, Kind{Service: svc, AnyType: true})
				continue
			}
			for _, t := range s.Types {
				out = append(out, Kind{Service: svc, Type: t})
			}
		}
	}
	return out
}

// MatchKinds reports whether kinds (as Kinds returns them) select ident.
func MatchKinds(kinds []Kind, ident string) bool {
	if kinds == nil {
		return true
	}
	svc, typ := IdentKind(ident)
	for _, k := range kinds {
		if k.Matches(svc, typ) {
			return true
		}
	}
	return false
}

// KeyRange is a range of group keys or of Idents, Low inclusive and High
// exclusive.
type KeyRange struct{ Low, High string }

// AllGroups is the range of every group key: none holds a 0xff byte.
var AllGroups = KeyRange{Low: "", High: "\xff"}

// PrefixRange is the range of the group keys that start with p.
func PrefixRange(p string) KeyRange { return KeyRange{Low: p, High: p + "\xff"} }

// maxExactKeys bounds how many exact keys one scope expands to; past it,
// the scope's range stops at a shorter prefix.
const maxExactKeys = 1024

// GroupRanges returns sorted, disjoint ranges of group keys that hold the
// key of every group scopes select (and perhaps others: check each with
// Scope.MatchesGroup). No scopes select every group. A scope pinned to
// listed partitions, regions and accounts gives one exact key per
// combination, so that a store reads only those groups.
func GroupRanges(scopes []Scope) []KeyRange {
	if len(scopes) == 0 {
		return []KeyRange{AllGroups}
	}
	var out []KeyRange
	for _, s := range scopes {
		out = append(out, s.groupRanges()...)
	}
	return mergeRanges(out)
}

// groupRanges expands s field by field while its fields are lists and the
// combinations stay few: each prefix becomes the range of keys starting
// with it, each complete key an exact range.
func (s Scope) groupRanges() []KeyRange {
	prefixes := []string{""}
	for i, f := range [][]string{s.Partitions, s.Regions, s.Accounts} {
		if len(f) == 0 || len(prefixes)*len(f) > maxExactKeys {
			break
		}
		next := make([]string, 0, len(prefixes)*len(f))
		for _, p := range prefixes {
			for _, v := range f {
				if i < 2 {
					next = append(next, p+v+":")
				} else {
					next = append(next, p+v)
				}
			}
		}
		prefixes = next
		if i == 2 {
			out := make([]KeyRange, len(prefixes))
			for j, k := range prefixes {
				out[j] = KeyRange{Low: k, High: k + "\x00"}
			}
			return out
		}
	}
	out := make([]KeyRange, len(prefixes))
	for j, p := range prefixes {
		out[j] = PrefixRange(p)
	}
	return out
}

func mergeRanges(rs []KeyRange) []KeyRange {
	slices.SortFunc(rs, func(a, b KeyRange) int { return strings.Compare(a.Low, b.Low) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.Low <= out[n-1].High {
			out[n-1].High = max(out[n-1].High, r.High)
			continue
		}
		out = append(out, r)
	}
	return out
}

// IntersectRanges returns the ranges both a and b cover; each must be
// sorted and disjoint, as GroupRanges returns them.
func IntersectRanges(a, b []KeyRange) []KeyRange {
	var out []KeyRange
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].Low, b[j].Low), min(a[i].High, b[j].High)
		if lo < hi {
			out = append(out, KeyRange{Low: lo, High: hi})
		}
		if a[i].High < b[j].High {
			i++
		} else {
			j++
		}
	}
	return out
}

// IntersectKinds returns the kinds both a and b select, as Kinds returns
// them: nil selects everything.
func IntersectKinds(a, b []Kind) []Kind {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := []Kind{}
	for _, x := range a {
		for _, y := range b {
			k, ok := x.intersect(y)
			if ok && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

func (k Kind) intersect(o Kind) (Kind, bool) {
	out := k
	switch {
	case k.Service == "":
		out.Service = o.Service
	case o.Service != "" && o.Service != k.Service:
		return Kind{}, false
	}
	switch {
	case k.AnyType:
		out.Type, out.AnyType = o.Type, o.AnyType
	case !o.AnyType && o.Type != k.Type:
		return Kind{}, false
	}
	return out, true
}
