package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/tagway/tagway/internal/operation"
	"github.com/tagway/tagway/internal/principals"
)

var (
	teamA = &principals.Principal{Name: "team-a", AWS: &principals.AWS{Account: "111111111111"}}
	teamB = &principals.Principal{Name: "team-b", AWS: &principals.AWS{Account: "222222222222"}}
	ops   = &principals.Principal{Name: "ops", Admin: true}
)

func instance(account string, tags map[string]string) *Resource {
	return &Resource{Name: "arn:aws:ec2:us-east-1:" + account + ":instance/i-1", Partition: "aws", Service: "ec2",
		Region: "us-east-1", Account: account, Type: "instance", Tags: tags}
}

// iam holds the three IAM patterns of tagging policies, and an admin rule.
const iam = `
// aws:TagKeys (ForAllValues): team-a may remove only cost-center and owner.
@id("team-a-keys")
permit (principal == Tagway::Principal::"team-a", action == Tagway::Action::"UntagResources", resource)
when { ["cost-center", "owner"].containsAll(context.tagKeys) && resource.account == principal.account };

// aws:RequestTag: team-b may set env only to dev or test.
@id("team-b-env")
permit (principal == Tagway::Principal::"team-b", action == Tagway::Action::"TagResources", resource)
when { context.requestTags has "env" && ["dev", "test"].contains(context.requestTags["env"]) };

// aws:ResourceTag: team-b may untag only resources tagged env=dev.
@id("team-b-dev-only")
permit (principal == Tagway::Principal::"team-b", action == Tagway::Action::"UntagResources", resource)
when { resource.hasTag("env") && resource.getTag("env") == "dev" };

// Everyone may read.
permit (principal, action in Tagway::Action::"read", resource);

// Admins may do everything, but nobody removes compliance:* keys.
permit (principal, action, resource) when { principal.admin };
@id("no-compliance")
forbid (principal, action == Tagway::Action::"UntagResources", resource) when { context.tagKey like "compliance:*" };
`

// keyed reports whether a policy of s reads the key being decided.
func keyed(s *Set) bool { return slices.ContainsFunc(s.entries, func(e entry) bool { return e.keyed }) }

func mustParse(t *testing.T, src string) *Set {
	t.Helper()
	s, err := Parse("policy.cedar", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIAMPatterns(t *testing.T) {
	s := mustParse(t, iam)
	if !s.NeedsTags() || !keyed(s) {
		t.Fatalf("NeedsTags %v, perKey %v: want both", s.NeedsTags(), keyed(s))
	}
	a := instance("111111111111", nil)
	dev := instance("222222222222", map[string]string{"env": "dev"})
	prod := instance("222222222222", map[string]string{"env": "prod"})
	for _, c := range []struct {
		name string
		r    Request
		want bool
		why  string
	}{
		{"tag keys allowed", Request{Principal: teamA, Action: operation.UntagResources, Resource: a, TagKeys: []string{"owner"}}, true, ""},
		{"tag keys all allowed", Request{Principal: teamA, Action: operation.UntagResources, Resource: a, TagKeys: []string{"owner", "cost-center"}}, true, ""},
		{"tag key not allowed", Request{Principal: teamA, Action: operation.UntagResources, Resource: a, TagKeys: []string{"owner", "env"}}, false, "no policy permits it"},
		{"other account", Request{Principal: teamA, Action: operation.UntagResources, Resource: dev, TagKeys: []string{"owner"}}, false, "no policy permits it"},
		{"request tag allowed", Request{Principal: teamB, Action: operation.TagResources, Resource: prod, TagKeys: []string{"env"}, RequestTags: map[string]string{"env": "dev"}}, true, ""},
		{"request tag value refused", Request{Principal: teamB, Action: operation.TagResources, Resource: prod, TagKeys: []string{"env"}, RequestTags: map[string]string{"env": "prod"}}, false, "no policy permits it"},
		{"request tag missing", Request{Principal: teamB, Action: operation.TagResources, Resource: prod, TagKeys: []string{"team"}, RequestTags: map[string]string{"team": "x"}}, false, "no policy permits it"},
		{"resource tag allowed", Request{Principal: teamB, Action: operation.UntagResources, Resource: dev, TagKeys: []string{"owner"}}, true, ""},
		{"resource tag refused", Request{Principal: teamB, Action: operation.UntagResources, Resource: prod, TagKeys: []string{"owner"}}, false, "no policy permits it"},
		{"read", Request{Principal: teamB, Action: operation.ListResources, Resource: prod}, true, ""},
		{"read as a whole", Request{Principal: teamB, Action: operation.ListTagKeys}, true, ""},
		{"anonymous read", Request{Action: operation.ListTagValues}, true, ""},
		{"anonymous is an admin", Request{Action: operation.UntagResources, Resource: prod, TagKeys: []string{"x"}}, true, ""},
		{"admin", Request{Principal: ops, Action: operation.UntagResources, Resource: prod, TagKeys: []string{"env"}}, true, ""},
		{"forbid wins over admin", Request{Principal: ops, Action: operation.UntagResources, Resource: prod, TagKeys: []string{"env", "compliance:pci"}}, false, `for the key "compliance:pci": policy "no-compliance" (policy.cedar:`},
		{"forbid wins over a permit", Request{Principal: teamA, Action: operation.UntagResources, Resource: a, TagKeys: []string{"compliance:x"}}, false, "no-compliance"},
		{"forbid only on its action", Request{Principal: ops, Action: operation.TagResources, Resource: prod, TagKeys: []string{"compliance:pci"}, RequestTags: map[string]string{"compliance:pci": "yes"}}, true, ""},
	} {
		d := s.Decide(c.r)
		if d.Allowed != c.want || !strings.Contains(d.Reason, c.why) {
			t.Errorf("%s: %+v, want allowed=%v with a reason holding %q", c.name, d, c.want, c.why)
		}
	}
}

func TestForbidThatErrorsDenies(t *testing.T) {
	s := mustParse(t, `
permit (principal, action, resource);
@id("typo")
forbid (principal, action, resource) when { resource.colour == "red" };
`)
	d := s.Decide(Request{Principal: teamA, Action: operation.UntagResources, Resource: instance("111111111111", nil), TagKeys: []string{"k"}})
	if d.Allowed || !strings.Contains(d.Reason, `"typo"`) || len(d.Errors) != 1 {
		t.Fatalf("%+v: want a denial naming the forbid that failed", d)
	}
	// A permit that fails is skipped, as Cedar does.
	s = mustParse(t, `
permit (principal, action, resource) when { resource.colour == "red" };
permit (principal, action, resource) when { principal.name == "team-a" };
`)
	d = s.Decide(Request{Principal: teamA, Action: operation.UntagResources, Resource: instance("111111111111", nil)})
	if !d.Allowed || len(d.Errors) != 1 {
		t.Fatalf("%+v: want allowed, with the failed permit reported", d)
	}
	// A resource read as a whole has no attributes: a forbid about them
	// denies.
	s = mustParse(t, `
permit (principal, action, resource);
forbid (principal, action, resource) when { resource.account == "x" };
`)
	if d := s.Decide(Request{Principal: teamA, Action: operation.ListTagKeys}); d.Allowed {
		t.Fatalf("%+v: want denied", d)
	}
	s = mustParse(t, `
permit (principal, action, resource);
forbid (principal, action, resource) when { resource is Tagway::Resource && resource.account == "x" };
`)
	if d := s.Decide(Request{Principal: teamA, Action: operation.ListTagKeys}); !d.Allowed {
		t.Fatalf("%+v: want allowed", d)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"", "holds no policy"},
		{"// only a comment\n", "holds no policy"},
		{"permit (principal, action, resource)", "p.cedar: "},
		{"permit (principal, action, resource) when { context.x ==  };", "p.cedar: "},
		{"allow (principal, action, resource);", "p.cedar: "},
	} {
		_, err := Parse("p.cedar", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) = %v, want one line holding %q", c.src, err, c.want)
		}
	}
}

func TestReads(t *testing.T) {
	for src, want := range map[string]reads{
		`permit (principal, action, resource);`:                                                           {},
		`permit (principal, action, resource == Tagway::Resource::"x");`:                                  {resource: true, identity: true},
		`permit (principal, action, resource) when { resource.account == "1" };`:                          {resource: true},
		`permit (principal, action, resource) when { context.tagKey like "a*" };`:                         {keyed: true},
		`permit (principal, action, resource) when { resource.getTag("a") == context.tagValue };`:         {keyed: true, tags: true, resource: true, identity: true},
		`forbid (principal, action, resource) unless { context.requestTags has env && principal.admin };`: {},
	} {
		s := mustParse(t, src)
		if got := s.entries[0].reads; got != want {
			t.Errorf("%s: reads %+v, want %+v", src, got, want)
		}
	}
}

func TestNeeds(t *testing.T) {
	for _, c := range []struct {
		src          string
		tags, perKey bool
	}{
		{`permit (principal, action, resource);`, false, false},
		{`permit (principal, action, resource) when { resource.getTag("a") == "b" };`, true, false},
		{`permit (principal, action, resource) when { resource has name && resource.hasTag("a") };`, true, false},
		{`permit (principal, action, resource) when { context["tagKey"] like "a*" };`, false, true},
		{`permit (principal, action, resource) when { context.tagValue == "" };`, false, true},
		{`permit (principal, action, resource) when { context has tagKey };`, false, true},
		{`permit (principal, action, resource) when { context == {} };`, false, true},
		{`permit (principal, action, resource) when { context.tagKeys.contains("tagKey") };`, false, false},
		{`permit (principal, action, resource) when { principal.hasTag("a") };`, true, false},
	} {
		s := mustParse(t, c.src)
		if s.NeedsTags() != c.tags || keyed(s) != c.perKey {
			t.Errorf("%s: tags %v perKey %v, want %v %v", c.src, s.NeedsTags(), keyed(s), c.tags, c.perKey)
		}
	}
}

func TestSourceReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.cedar")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`permit (principal, action, resource);`)
	src, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r := Request{Principal: teamA, Action: operation.ListTagKeys}
	if !src.Current().Decide(r).Allowed {
		t.Fatal("want allowed")
	}
	write(`forbid (principal, action, resource);`)
	if _, err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	if src.Current().Decide(r).Allowed {
		t.Fatal("want denied after the reload")
	}
	write(`forbid (principal`)
	if _, err := src.Reload(); err == nil {
		t.Fatal("a broken file reloaded")
	}
	if src.Current().Decide(r).Allowed || src.Current().Len() != 1 {
		t.Fatal("the version in force changed after a failed reload")
	}
}

// reference decides r the plain way: every policy, once per key, with
// cedar.Authorize, a forbid that fails denying.
func reference(s *Set, r Request) bool {
	all := policyList(s.entries)
	keys := r.TagKeys
	if len(keys) == 0 {
		keys = []string{""}
	}
	for _, k := range keys {
		d := s.For(r.Principal, r.Surface, r.Action, nil, nil)
		ents := entities{principal: d.principal, resource: resourceEntity(r.Resource, true)}
		reqTags := types.RecordMap{}
		for k, v := range r.RequestTags {
			reqTags[types.String(k)] = types.String(v)
		}
		var tk []types.Value
		for _, k := range r.TagKeys {
			tk = append(tk, types.String(k))
		}
		req := cedar.Request{Principal: d.principal.UID, Action: d.action, Resource: ents.resource.UID, Context: types.NewRecord(types.RecordMap{
			"surface": types.String(r.Surface), "tagKeys": types.NewSet(tk...), "requestTags": types.NewRecord(reqTags),
			"tagKey": types.String(k), "tagValue": types.String(r.RequestTags[k]),
		})}
		ok, diag := cedar.Authorize(all, ents, req)
		for _, e := range diag.Errors {
			for _, en := range s.entries {
				if en.id == e.PolicyID && en.forbid {
					return false
				}
			}
		}
		if ok != cedar.Allow {
			return false
		}
	}
	return true
}

// TestDecideAgreesWithCedar checks the per-principal, per-action subsets and
// the split by key against evaluating every policy for every key.
func TestDecideAgreesWithCedar(t *testing.T) {
	s := mustParse(t, iam+`
permit (principal is Tagway::Principal, action in [Tagway::Action::"TagResources", Tagway::Action::"ListTagKeys"], resource) when { principal.account == "222222222222" };
permit (principal in Tagway::Principal::"team-a", action == Tagway::Action::"TagResources", resource) when { context.tagValue != "forbidden" };
forbid (principal == Tagway::Principal::"team-b", action in Tagway::Action::"write", resource) when { context.tagKey == "locked" };
forbid (principal, action, resource) when { resource.colour == "red" && context.tagKey == "x" };
`)
	callers := []*principals.Principal{nil, teamA, teamB, ops}
	resources := []*Resource{nil, instance("111111111111", nil), instance("222222222222", map[string]string{"env": "dev"}), instance("222222222222", map[string]string{"env": "prod"})}
	keySets := [][]string{nil, {"owner"}, {"owner", "env"}, {"cost-center", "owner"}, {"compliance:pci"}, {"locked", "env"}, {"x"}}
	values := []map[string]string{nil, {"env": "dev"}, {"env": "prod", "owner": "forbidden"}, {"locked": "1"}}
	n := 0
	for _, p := range callers {
		for _, action := range operation.All {
			for _, keys := range keySets {
				for _, vals := range values {
					// One Decider for the resources of a call, as a batch
					// uses it, so that its memory is checked too.
					d := s.For(p, "grpc", action, keys, vals)
					for range 2 {
						for _, res := range resources {
							r := Request{Principal: p, Surface: "grpc", Action: action, Resource: res, TagKeys: keys, RequestTags: vals}
							if got, want := d.Decide(res).Allowed, reference(s, r); got != want {
								t.Fatalf("%+v: Decide says %v, Cedar over every policy %v", r, got, want)
							}
							n++
						}
					}
				}
			}
		}
	}
	if sub := s.subset(principalEntity(teamA).UID, types.NewEntityUID(typeAction, operation.UntagResources)); len(sub.plain)+len(sub.keyed) >= len(s.entries) {
		t.Fatalf("team-a's UntagResources subset has %d of %d policies", len(sub.plain)+len(sub.keyed), len(s.entries))
	}
	t.Logf("%d requests agree", n)
}

// FuzzParse checks that no policy file makes Parse panic or return a
// multi-line error, and that what parses can decide.
func FuzzParse(f *testing.F) {
	f.Add(iam)
	f.Add(`permit (principal, action, resource);`)
	f.Add(`forbid (principal, action in [Tagway::Action::"write"], resource) unless { context.tagKey like "*" };`)
	f.Add(`@id("x") permit (principal is Tagway::Principal in Tagway::Principal::"a", action, resource is Tagway::Resource) when { resource.getTag("a") };`)
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse("p.cedar", []byte(src))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "p.cedar: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, action := range operation.All {
			s.Decide(Request{Principal: teamA, Action: action, Resource: instance("111111111111", map[string]string{"a": "b"}), TagKeys: []string{"a", "b"}, RequestTags: map[string]string{"a": "1"}})
			s.Decide(Request{Action: action})
		}
	})
}
