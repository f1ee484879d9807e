package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	if !s.NeedsTags() || !s.perKey {
		t.Fatalf("NeedsTags %v, perKey %v: want both", s.NeedsTags(), s.perKey)
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
	} {
		s := mustParse(t, c.src)
		if s.NeedsTags() != c.tags || s.perKey != c.perKey {
			t.Errorf("%s: tags %v perKey %v, want %v %v", c.src, s.NeedsTags(), s.perKey, c.tags, c.perKey)
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
