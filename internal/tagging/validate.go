package tagging

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/rules"
	"github.com/tagway/tagway/internal/tagstore"
)

// limits are the rules in force for one call, or for the resources of one
// kind in it.
type limits struct {
	maxResources, maxTags, maxTagsPerResource, maxValueLength int
	reserved                                                  []string // lower case
	chars                                                     rules.Chars
}

// with returns l tightened by the rules of a kind of resource.
func (l limits) with(k *rules.Kind) limits {
	if k == nil {
		return l
	}
	l.maxTagsPerResource = min(l.maxTagsPerResource, k.MaxTags)
	l.maxValueLength = min(l.maxValueLength, k.MaxValueLength)
	l.reserved = append(slices.Clip(l.reserved), k.Reserved...)
	l.chars = l.chars.Stricter(k.Chars)
	return l
}

// limits merges a call's Limits into the server's.
func (s *Service) limits(l *tagwayv1.Limits) (limits, error) {
	eff := limits{
		maxResources: MaxResources, maxTags: MaxTags,
		maxTagsPerResource: MaxTagsPerResource, maxValueLength: MaxValueLength,
		reserved: s.reserved,
	}
	if l == nil {
		return eff, nil
	}
	for _, f := range []struct {
		name string
		v    int32
		dst  *int
	}{
		{"max_resources", l.GetMaxResources(), &eff.maxResources},
		{"max_tags", l.GetMaxTags(), &eff.maxTags},
		{"max_tags_per_resource", l.GetMaxTagsPerResource(), &eff.maxTagsPerResource},
		{"max_value_length", l.GetMaxValueLength(), &eff.maxValueLength},
	} {
		if f.v < 0 {
			return eff, invalid("limits."+f.name, -1, "is negative")
		}
		if f.v > 0 && int(f.v) < *f.dst {
			*f.dst = int(f.v)
		}
	}
	if n := len(l.GetReservedKeyPrefixes()); n > MaxReservedPrefixes {
		return eff, invalid("limits.reserved_key_prefixes", -1, "has %d items, at most %d are allowed", n, MaxReservedPrefixes)
	}
	for i, p := range l.GetReservedKeyPrefixes() {
		if p == "" || utf8.RuneCountInString(p) > MaxReservedPrefixLength {
			return eff, invalid("limits.reserved_key_prefixes", i, "must be 1 to %d characters long", MaxReservedPrefixLength)
		}
	}
	eff.reserved = append(lowerAll(l.GetReservedKeyPrefixes()), s.reserved...)
	if l.GetRestrictCharacters() {
		eff.chars = rules.HuaweiChars
	}
	return eff, nil
}

// lowerAll lower-cases the ASCII letters of each string.
func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Map(func(r rune) rune {
			if 'A' <= r && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, s)
	}
	return out
}

// count checks the number of items in a list field.
func count(field string, n, min, max int) error {
	switch {
	case n < min && n == 0:
		return invalid(field, -1, "is empty; at least %d item is required", min)
	case n < min:
		return invalid(field, -1, "has %d items, at least %d are required", n, min)
	case n > max:
		return invalid(field, -1, "has %d items, at most %d are allowed", n, max)
	}
	return nil
}

// names parses resource names and drops duplicates, keeping the first; at
// is the index in raw of each name returned.
func names(ctx context.Context, field string, raw []string, max int) (out []arn.Name, at []int, checked []bool, err error) {
	if err := count(field, len(raw), 1, max); err != nil {
		return nil, nil, nil, err
	}
	out = make([]arn.Name, 0, len(raw))
	at = make([]int, 0, len(raw))
	checked = make([]bool, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	pre := rules.CheckedOf(ctx)
	for i, r := range raw {
		if seen[r] {
			continue
		}
		seen[r] = true
		n, ok := pre.Name(i, r)
		if !ok {
			var err error
			if n, err = arn.Parse(r); err != nil {
				return nil, nil, nil, invalid(field, i, "%v", err)
			}
		}
		out = append(out, n)
		at = append(at, i)
		checked = append(checked, ok)
	}
	return out, at, checked, nil
}

// keyProblem says what is wrong with a tag key under l, or "": its length,
// a reserved prefix when reservedApplies, and l's characters.
func keyProblem(k string, l limits, reservedApplies bool) string {
	if k == "" {
		return "the tag key is empty"
	}
	if n := utf8.RuneCountInString(k); n > MaxKeyLength {
		return fmt.Sprintf("the tag key is %d characters long, more than %d", n, MaxKeyLength)
	}
	for _, p := range l.reserved {
		if reservedApplies && tagstore.Exempt(k, []string{p}) {
			return fmt.Sprintf("the tag key %q uses the reserved prefix %q", k, p)
		}
	}
	return l.chars.Problem("tag key", k)
}

// valueProblem says what is wrong with a tag value under l, or "".
func valueProblem(v string, l limits) string {
	if n := utf8.RuneCountInString(v); n > l.maxValueLength {
		return fmt.Sprintf("the tag value is %d characters long, more than %d", n, l.maxValueLength)
	}
	return l.chars.Problem("tag value", v)
}

// scopes converts and checks the scopes of a list request.
func scopes(raw []*tagwayv1.ResourceScope) ([]arn.Scope, error) {
	if len(raw) > MaxScopes {
		return nil, invalid("scopes", -1, "has %d items, at most %d are allowed", len(raw), MaxScopes)
	}
	out := make([]arn.Scope, 0, len(raw))
	for i, sc := range raw {
		for _, f := range []struct {
			name string
			vs   []string
		}{
			{"partitions", sc.GetPartitions()}, {"services", sc.GetServices()},
			{"regions", sc.GetRegions()}, {"accounts", sc.GetAccounts()}, {"resource_types", sc.GetResourceTypes()},
		} {
			if len(f.vs) > MaxScopes {
				return nil, invalid("scopes", i, "%s has %d items, at most %d are allowed", f.name, len(f.vs), MaxScopes)
			}
			for _, v := range f.vs {
				if f.name == "resource_types" {
					if strings.Contains(v, ":") || strings.IndexFunc(v, unicode.IsControl) >= 0 || utf8.RuneCountInString(v) > MaxResourceTypeLength {
						return nil, invalid("scopes", i, "resource_types: %.40q is longer than %d characters or contains ':' or a control character", v, MaxResourceTypeLength)
					}
				} else if err := arn.CheckField(v); err != nil {
					return nil, invalid("scopes", i, "%s: %v", f.name, err)
				}
			}
		}
		if len(sc.GetResourceTypes()) > 0 && len(sc.GetServices()) == 0 {
			return nil, invalid("scopes", i, "resource_types are named within a service: list the services too")
		}
		out = append(out, arn.Scope{
			Partitions: sc.GetPartitions(), Services: sc.GetServices(),
			Regions: sc.GetRegions(), Accounts: sc.GetAccounts(), Types: sc.GetResourceTypes(),
		})
	}
	return out, nil
}

// pageSize checks a requested page size and applies the default; a size
// above the maximum is lowered to it (AIP-158).
func pageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0:
		return 0, invalid("page_size", -1, "is %d; it must not be negative", n)
	}
	return min(int(n), MaxPageSize), nil
}
