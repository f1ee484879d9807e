package arn

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	good := []struct {
		in        string
		ns, local string
		typ       string
	}{
		{"arn:aws:ec2:us-east-1:123456789012:instance/i-1", "arn:aws:ec2:us-east-1:123456789012:instance", "/i-1", "instance"},
		{"arn:aws:lambda:eu-west-1:123456789012:function:f:prod", "arn:aws:lambda:eu-west-1:123456789012:function", ":f:prod", "function"},
		{"arn:aws:s3:::my-bucket", "arn:aws:s3:::", "my-bucket", ""},
		{"arn:aws:iam::123456789012:role/a/b", "arn:aws:iam::123456789012:role", "/a/b", "role"},
		{"arn:aws:s3:::/odd", "arn:aws:s3:::", "/odd", ""},
		{"arn:huaweicloud:organizations:::ou/ou-1", "arn:huaweicloud:organizations:::ou", "/ou-1", "ou"},
		{"arn:p:s:r:a:ключ/значение", "arn:p:s:r:a:ключ", "/значение", "ключ"},
		{"arn:aws:elasticloadbalancing:r:1:loadbalancer/app/web/50dc", "arn:aws:elasticloadbalancing:r:1:loadbalancer/app", "/web/50dc", "loadbalancer/app"},
		{"arn:aws:elasticloadbalancing:r:1:loadbalancer/classic", "arn:aws:elasticloadbalancing:r:1:loadbalancer", "/classic", "loadbalancer"},
		{"arn:aws:elasticloadbalancing:r:1:loadbalancer/app", "arn:aws:elasticloadbalancing:r:1:loadbalancer", "/app", "loadbalancer"},
		{"arn:aws:elasticloadbalancing:r:1:listener-rule/net/n/1/2/3", "arn:aws:elasticloadbalancing:r:1:listener-rule/net", "/n/1/2/3", "listener-rule/net"},
		{"arn:aws:ec2:r:1:loadbalancer/app/x", "arn:aws:ec2:r:1:loadbalancer", "/app/x", "loadbalancer"},
		{"arn:aws:apigateway:us-east-1::/restapis/a1/stages/prod", "arn:aws:apigateway:us-east-1::/restapis", "/a1/stages/prod", "/restapis"},
	}
	for _, tc := range good {
		n, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		if n.String() != tc.in || n.Namespace().String() != tc.ns || n.Local() != tc.local || n.Type() != tc.typ {
			t.Fatalf("Parse(%q) = %q, ns %q, local %q, type %q", tc.in, n, n.Namespace(), n.Local(), n.Type())
		}
		if n.Namespace().Name(n.Local()) != tc.in {
			t.Fatalf("namespace + local != name for %q", tc.in)
		}
		ns, err := ParseNamespace(tc.ns)
		if err != nil || ns != n.Namespace() {
			t.Fatalf("ParseNamespace(%q) = %v, %v", tc.ns, ns, err)
		}
	}
	bad := map[string]string{
		"":                          "empty",
		"i-123":                     "does not have the form",
		"arn:aws:ec2:us-east-1:123": "does not have the form",
		"arm:aws:ec2:r:a:x":         "does not have the form",
		"arn::ec2:r:a:x":            "empty partition",
		"arn:aws::r:a:x":            "empty service",
		"arn:aws:ec2:r:a:":          "empty resource part",
		"arn:aws:ec2:us east:a:x":   "region",
		"arn:aws:ec2:r:{a}:x":       "account",
		"arn:aws:ec2:r:a:x\ny":      "control character",
		"arn:aws:ec2:r:a:\xff":      "UTF-8",
		"arn:" + strings.Repeat("p", 64) + ":s:r:a:x":    "longer than 63",
		"arn:aws:s3:::" + strings.Repeat("b", MaxLength): "more than 1024",
	}
	for in, want := range bad {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.40q) = %v, want an error with %q", in, err, want)
		}
	}
	for _, in := range []string{"arn:a:b:c:d", "arn:a:b:c:d:e:f", "x:a:b:c:d:e"} {
		if _, err := ParseNamespace(in); err == nil {
			t.Errorf("ParseNamespace(%q) succeeded", in)
		}
	}
}

func TestScope(t *testing.T) {
	inst := Namespace{Partition: "aws", Service: "ec2", Region: "us-east-1", Account: "1", Type: "instance"}
	bucket := Namespace{Partition: "aws", Service: "s3"}
	cases := []struct {
		scope        Scope
		inst, bucket bool
	}{
		{Scope{}, true, true},
		{Scope{Partitions: []string{"aws"}}, true, true},
		{Scope{Partitions: []string{"aws-cn"}}, false, false},
		{Scope{Regions: []string{"us-east-1", ""}}, true, true},
		{Scope{Regions: []string{"us-east-1"}}, true, false},
		{Scope{Accounts: []string{""}}, false, true},
		{Scope{Services: []string{"ec2"}, Types: []string{"instance"}}, true, false},
		{Scope{Services: []string{"ec2"}, Types: []string{"volume"}}, false, false},
		{Scope{Types: []string{""}}, false, true},
		{Scope{Types: []string{"instance", ""}}, true, true},
	}
	for i, tc := range cases {
		if tc.scope.Match(inst) != tc.inst || tc.scope.Match(bucket) != tc.bucket {
			t.Errorf("case %d: %+v matches instance %v, bucket %v", i, tc.scope, tc.scope.Match(inst), tc.scope.Match(bucket))
		}
	}
	if !MatchAny(nil, inst) || MatchAny([]Scope{{Services: []string{"s3"}}, {Regions: []string{"x"}}}, inst) {
		t.Error("MatchAny")
	}
}

func TestPrefix(t *testing.T) {
	cases := []struct {
		scopes []Scope
		want   string
	}{
		{nil, "arn:"},
		{[]Scope{{}}, "arn:"},
		{[]Scope{{Partitions: []string{"aws"}}}, "arn:aws:"},
		{[]Scope{{Partitions: []string{"aws"}, Services: []string{"ec2"}, Regions: []string{"r"}, Accounts: []string{"a"}, Types: []string{"instance"}}}, "arn:aws:ec2:r:a:"},
		{[]Scope{{Partitions: []string{"aws"}, Services: []string{"ec2"}, Regions: []string{"r"}, Accounts: []string{"a"}, Types: []string{"a", "b"}}}, "arn:aws:ec2:r:a:"},
		{[]Scope{{Partitions: []string{"aws"}, Services: []string{"ec2"}}, {Partitions: []string{"aws"}, Services: []string{"s3"}}}, "arn:aws:"},
		{[]Scope{{Partitions: []string{"aws", "aws-cn"}}}, "arn:"},
		{[]Scope{{Partitions: []string{"aws"}}, {Partitions: []string{"aws-cn"}}}, "arn:aws"},
	}
	for _, tc := range cases {
		if got := Prefix(tc.scopes); got != tc.want {
			t.Errorf("Prefix(%+v) = %q, want %q", tc.scopes, got, tc.want)
		}
	}
}

func TestOwnedNamespace(t *testing.T) {
	n, err := Parse("arn:aws:s3:::logs")
	if err != nil {
		t.Fatal(err)
	}
	owned := n.Namespace()
	owned.Owner = "111111111111"
	if owned.String() != "arn:aws:s3:::" || owned.Name(n.Local()) != "arn:aws:s3:::logs" {
		t.Fatalf("owned namespace names %q, %q", owned.String(), owned.Name(n.Local()))
	}
	key := owned.Key()
	if key != "arn:aws:s3::111111111111:\x1f" {
		t.Fatalf("Key = %q", key)
	}
	if !strings.HasPrefix(key, Prefix([]Scope{{Partitions: []string{"aws"}, Services: []string{"s3"}, Regions: []string{""}, Accounts: []string{"111111111111"}}})) {
		t.Fatal("the prefix of the owner's scope does not cover the owned namespace")
	}
	back, err := ParseNamespace(key)
	if err != nil || back != owned {
		t.Fatalf("ParseNamespace(%q) = %+v, %v", key, back, err)
	}
	if n.Namespace().Key() != n.Namespace().String() {
		t.Fatal("an unowned namespace's Key is not its String")
	}
	for sc, want := range map[*Scope]bool{
		{Accounts: []string{"111111111111"}}: true,
		{Accounts: []string{""}}:             false,
		{Accounts: []string{"222222222222"}}: false,
		{}:                                   true,
	} {
		if sc.Match(owned) != want {
			t.Errorf("%+v matches the owned namespace: %v", *sc, !want)
		}
	}
	if !(Scope{Accounts: []string{""}}).Match(n.Namespace()) {
		t.Error("the unowned namespace is not selected by the empty account")
	}
	if _, err := ParseNamespace("arn:aws:s3:::\x1f"); err == nil {
		t.Error("an owner mark without an owner parsed")
	}
}

func TestSelectTypesAndHomes(t *testing.T) {
	if got := SelectTypes("elasticloadbalancing", "loadbalancer"); strings.Join(got, ",") != "loadbalancer,/loadbalancer,loadbalancer/app,loadbalancer/net,loadbalancer/gwy" {
		t.Errorf("SelectTypes(loadbalancer) = %v", got)
	}
	if got := SelectTypes("apigateway", "restapis"); strings.Join(got, ",") != "restapis,/restapis" {
		t.Errorf("SelectTypes(restapis) = %v", got)
	}
	for s, want := range map[string]bool{
		"arn:aws:s3:::bucket":                  true,
		"arn:aws:s3:::bucket/key":              false,
		"arn:aws:s3:us-east-1:1:job/x":         false,
		"arn:aws:iam::1:role/r":                false,
		"arn:aws:cloudfront::1:distribution/x": false,
	} {
		n, _ := Parse(s)
		if n.Homed() != want {
			t.Errorf("Homed(%s) = %v", s, !want)
		}
	}
	n, _ := Parse("arn:aws:s3:::logs")
	ns := n.Namespace()
	for _, tc := range []struct {
		home, owner, key string
	}{
		{"us-west-2", "", "arn:aws:s3:us-west-2::\x1e"},
		{"", "111111111111", "arn:aws:s3::111111111111:\x1f"},
		{"us-west-2", "111111111111", "arn:aws:s3:us-west-2:111111111111:\x1e\x1f"},
	} {
		placed := ns
		placed.Home, placed.Owner = tc.home, tc.owner
		if placed.Key() != tc.key || placed.String() != "arn:aws:s3:::" || placed.Name(n.Local()) != "arn:aws:s3:::logs" {
			t.Errorf("%+v: Key %q, String %q", placed, placed.Key(), placed.String())
		}
		back, err := ParseNamespace(placed.Key())
		if err != nil || back != placed {
			t.Errorf("ParseNamespace(%q) = %+v, %v", placed.Key(), back, err)
		}
		if !strings.HasPrefix(placed.Key(), Prefix([]Scope{{Partitions: []string{"aws"}, Services: []string{"s3"}, Regions: []string{placed.EffectiveRegion()}, Accounts: []string{placed.EffectiveAccount()}}})) {
			t.Errorf("%q is outside the prefix of its own scope", placed.Key())
		}
		if tc.home != "" && (!(Scope{Regions: []string{tc.home}}).Match(placed) || (Scope{Regions: []string{""}}).Match(placed)) {
			t.Errorf("%+v is not selected by its home alone", placed)
		}
	}
	if _, err := ParseNamespace("arn:aws:s3:::\x1e"); err == nil {
		t.Error("a home mark without a home parsed")
	}
}

// FuzzSplit checks split, which Parse cuts names with, against
// strings.SplitN.
func FuzzSplit(f *testing.F) {
	f.Add("arn:aws:ec2:us-east-1:123456789012:instance/i-1")
	f.Add("arn:aws:s3:::b:c:d")
	f.Add("arn:::::")
	f.Add("nra:a:b:c:d:e")
	f.Add("arn:a:b:c:d")
	f.Fuzz(func(t *testing.T, s string) {
		f := strings.SplitN(s, ":", 6)
		want := len(f) == 6 && f[0] == "arn"
		n, ok := split(s)
		if ok != want || ok && n != (Name{Partition: f[1], Service: f[2], Region: f[3], Account: f[4], Resource: f[5]}) {
			t.Fatalf("split(%q) = %+v, %v; SplitN says %q", s, n, ok, f)
		}
	})
}
