package rules

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/tagway/tagway/internal/arn"
)

func TestCheckARN(t *testing.T) {
	for s, want := range map[string]bool{
		"arn:aws:ec2:us-east-1:123456789012:instance/i-1":   true,
		"arn:aws:ec2:us-east-1:123456789012:i-1":            false,
		"arn:aws-cn:ec2:cn-north-1:123456789012:volume/v1":  true,
		"arn:huaweicloud:ec2:r:123456789012:instance/i-1":   false,
		"arn:aws:EC2:us-east-1:123456789012:instance/i-1":   false,
		"arn:aws:ec2:US-EAST-1:123456789012:instance/i-1":   false,
		"arn:aws:ec2:us-east-1:12345678901:instance/i-1":    false,
		"arn:aws:ec2:us-east-1:12345678901a:instance/i-1":   false,
		"arn:aws:new-service:r:123456789012:x":              true,
		"arn:aws:-svc:r:123456789012:x":                     false,
		"arn:aws:s3:::" + strings.Repeat("b", 998):          false, // a bucket of 998 characters
		"arn:aws:thing:r::" + strings.Repeat("b", 994):      true,  // 1011 characters
		"arn:aws:thing:r::" + strings.Repeat("b", 995):      false,
		"arn:aws:apigateway:us-east-1::/restapis/x":         true,
		"arn:aws:apigateway:us-east-1:123456789012:/apis/x": false,
	} {
		n, err := arn.Parse(s)
		got := err == nil && CheckARN(n)
		if _, ok := ParseARN(s); ok != got {
			t.Errorf("ParseARN(%.50q) = %v, CheckARN = %v", s, ok, got)
		}
		if got != want {
			t.Errorf("CheckARN(%.60q) = %v", s, got)
		}
	}
}

func TestChars(t *testing.T) {
	for _, tc := range []struct {
		c    Chars
		s    string
		fine bool
	}{
		{AnyChars, "\x00\n", true},
		{AWSChars, "Équipe 1 _.:/=+-@ 值", true},
		{AWSChars, " edge ", true},
		{AWSChars, "new\nline", false},
		{AWSChars, "tab\t", false},
		{AWSChars, "#", false},
		{HuaweiChars, "Équipe 1", true},
		{HuaweiChars, " edge", false},
		{HuaweiChars, "edge\u00a0", false},
		{HuaweiChars, "", true},
	} {
		if p := tc.c.Problem("tag key", tc.s); (p == "") != tc.fine {
			t.Errorf("%v.Problem(%q) = %q", tc.c, tc.s, p)
		}
	}
	if AnyChars.Stricter(HuaweiChars) != HuaweiChars || AWSChars.Stricter(AnyChars) != AWSChars {
		t.Error("Stricter")
	}
}

func TestKinds(t *testing.T) {
	for s, want := range map[string]*Kind{
		"arn:aws:s3:::bucket":                     AWS,
		"arn:aws-us-gov:s3:::bucket":              AWS,
		"arn:huaweicloud:organizations:::ou/ou-1": Huawei,
		"arn:huaweicloud:ecs:r:a:instance/x":      nil,
		"arn:example:svc:r:a:thing/1":             nil,
	} {
		n, _ := arn.Parse(s)
		if For(n) != want {
			t.Errorf("For(%s) = %v", s, For(n))
		}
	}
	for s, ok := range map[string]bool{
		"arn:huaweicloud:organizations:::ou/ou-1":                                  true,
		"arn:huaweicloud:organizations::0a1b2c3d4e5f60718293a4b5c6d7e8f9:root/r-1": true,
		"arn:huaweicloud:organizations:::account/0a1b2c3d4e5f60718293a4b5c6d7e8f9": true,
		"arn:huaweicloud:organizations:::policy/p-Tag_1":                           true,
		"arn:huaweicloud:organizations:::ou/r-1":                                   false,
		"arn:huaweicloud:organizations:::user/u-1":                                 false,
		"arn:huaweicloud:organizations:r::ou/ou-1":                                 false,
		"arn:huaweicloud:organizations::ABC:ou/ou-1":                               false,
		"arn:huaweicloud:organizations:::ou":                                       false,
	} {
		n, _ := arn.Parse(s)
		if (Huawei.CheckName(n) == "") != ok {
			t.Errorf("Huawei.CheckName(%s) = %q", s, Huawei.CheckName(n))
		}
	}
}

func FuzzParseARN(f *testing.F) {
	f.Add("arn:aws:ec2:us-east-1:123456789012:instance/i-1")
	f.Add("arn:aws:s3:::b/k")
	f.Fuzz(func(t *testing.T, s string) {
		if n, ok := ParseARN(s); ok && n.String() != s {
			t.Fatalf("ParseARN(%q) = %q", s, n)
		}
	})
}

// FuzzHuaweiTypeOfID checks the hand-written id matchers against the
// regular expressions of docs/huawei.md.
func FuzzHuaweiTypeOfID(f *testing.F) {
	patterns := map[string]*regexp.Regexp{
		"root":    regexp.MustCompile(`^r-[0-9a-z]{1,32}$`),
		"ou":      regexp.MustCompile(`^ou-[0-9a-z]{1,32}$`),
		"account": regexp.MustCompile(`^[0-9a-f]{32}$`),
		"policy":  regexp.MustCompile(`^p-[0-9A-Za-z_]{1,127}$`),
	}
	for _, s := range []string{"r-abc1", "ou-1", "05261f923e80d3890f33c0056e9b3f80", "p-Tag_Policy1", "p-", "ou-" + strings.Repeat("a", 33), "r-A", "05261F923E80D3890F33C0056E9B3F80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := ""
		for _, typ := range HuaweiTypes {
			if patterns[typ.Name].MatchString(id) {
				want = typ.Name
				break
			}
		}
		got, ok := HuaweiTypeOfID(id)
		if ok != (want != "") || got.Name != want {
			t.Fatalf("HuaweiTypeOfID(%q) = %q, %v; the patterns say %q", id, got.Name, ok, want)
		}
		if validDomain(id) != patterns["account"].MatchString(id) {
			t.Fatalf("validDomain(%q) = %v", id, validDomain(id))
		}
	})
}

func TestChecked(t *testing.T) {
	a, _ := arn.Parse("arn:aws:s3:::a")
	b, _ := arn.Parse("arn:aws:s3:::b")
	c := NewChecked(2)
	c.Add("arn:aws:s3:::a", a)
	c.Add("arn:aws:s3:::b", b)
	ctx := WithChecked(context.Background(), c)
	for _, tc := range []struct {
		i    int
		s    string
		want arn.Name
		ok   bool
	}{
		{0, "arn:aws:s3:::a", a, true},
		{1, "arn:aws:s3:::b", b, true},
		{0, "arn:aws:s3:::b", b, true}, // not at its index
		{5, "arn:aws:s3:::a", a, true},
		{1, "arn:aws:s3:::c", arn.Name{}, false},
	} {
		if n, ok := CheckedOf(ctx).Name(tc.i, tc.s); n != tc.want || ok != tc.ok {
			t.Errorf("Name(%d, %q) = %v, %v", tc.i, tc.s, n, ok)
		}
	}
	if _, ok := CheckedOf(context.Background()).Name(0, "arn:aws:s3:::a"); ok {
		t.Error("a context without checked names has one")
	}
}
