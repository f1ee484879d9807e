package principals

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// example is the file of docs/auth.md.
const example = `principals:
  - name: team-a                      # shown in logs and metrics; unique
    aws:
      account: "111111111111"         # 12 digits
      access_keys:
        - id: AKIDTEAMA000000000001
          secret: team-a-aws-secret
          session_token: ""
    huawei:
      domain_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
      access_keys:
        - ak: HWTEAMA0000000000001
          sk: team-a-huawei-secret
          security_token: ""
    grpc:
      tokens: ["team-a-token"]
      identities: ["spiffe://example.org/ns/a/sa/tagger"]
  - name: ops
    admin: true
    grpc:
      tokens: ["ops-token"]
`

func TestParseExample(t *testing.T) {
	s, err := Parse("auth.yaml", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Principals()) != 2 {
		t.Fatalf("%d principals", len(s.Principals()))
	}
	p, key, ok := s.AWSKey("AKIDTEAMA000000000001")
	if !ok || p.Name != "team-a" || key.Secret != "team-a-aws-secret" || p.AWS.Account != "111111111111" {
		t.Fatalf("AWSKey = %v %+v %v", p, key, ok)
	}
	if _, _, ok := s.AWSKey("AKIDUNKNOWN000000001"); ok {
		t.Fatal("unknown AWS key found")
	}
	p, hk, ok := s.HuaweiKey("HWTEAMA0000000000001")
	if !ok || p.Name != "team-a" || hk.SK != "team-a-huawei-secret" || p.Huawei.DomainID != "0a1b2c3d4e5f60718293a4b5c6d7e8f9" {
		t.Fatalf("HuaweiKey = %v %+v %v", p, hk, ok)
	}
	if p, ok := s.Token("ops-token"); !ok || p.Name != "ops" || !p.Admin {
		t.Fatalf("Token(ops-token) = %v %v", p, ok)
	}
	for _, bad := range []string{"", "ops-toke", "ops-token ", "team-a-token-x"} {
		if _, ok := s.Token(bad); ok {
			t.Errorf("Token(%q) found a principal", bad)
		}
	}
	if p, ok := s.Identity("spiffe://example.org/ns/a/sa/tagger"); !ok || p.Name != "team-a" {
		t.Fatalf("Identity = %v %v", p, ok)
	}
}

func TestParseErrors(t *testing.T) {
	const secret = "s3cr3t-value"
	cases := []struct {
		name, file string
		want       string // the error is "auth.yaml:" + want...
	}{
		{"empty", "", "auth.yaml: the file is empty"},
		{"no principals", "principals: []\n", "auth.yaml:1: the file lists no principals"},
		{"bad yaml", "principals:\n  - name: [\n", "auth.yaml:2:"},
		{"unknown field", "principals:\n  - name: a\n    colour: red\n    grpc: {tokens: [t]}\n", "auth.yaml:3: field colour not found"},
		{"unknown nested field", "principals:\n  - name: a\n    aws:\n      account: \"111111111111\"\n      acess_keys: []\n", "auth.yaml:5: field acess_keys not found"},
		{"secret where a list belongs", "principals:\n  - name: a\n    grpc:\n      tokens: " + secret + "\n", "auth.yaml:4: cannot unmarshal"},
		{"bad name", "principals:\n  - name: 'a b'\n    grpc: {tokens: [t]}\n", "auth.yaml:2: principal 0: name"},
		{"duplicate name", "principals:\n  - name: a\n    grpc: {tokens: [t1]}\n  - name: a\n    grpc: {tokens: [t2]}\n", "auth.yaml:4: principal \"a\" is named twice"},
		{"no credentials", "principals:\n  - name: a\n    admin: true\n", "auth.yaml:2: principal \"a\" has no credentials"},
		{"short account", "principals:\n  - name: a\n    aws:\n      account: \"12345\"\n      access_keys: [{id: AKID0000000000000001, secret: " + secret + "}]\n", "auth.yaml:4: principal \"a\": aws.account \"12345\" is not 12 digits"},
		{"no keys", "principals:\n  - name: a\n    aws:\n      account: \"111111111111\"\n", "auth.yaml:4: principal \"a\": aws has no access_keys"},
		{"no secret", "principals:\n  - name: a\n    aws:\n      account: \"111111111111\"\n      access_keys:\n        - id: AKID0000000000000001\n", "auth.yaml:6: principal \"a\": aws.access_keys[0] (AKID0000000000000001) has no secret"},
		{"duplicate AWS key", "principals:\n  - name: a\n    aws:\n      account: \"111111111111\"\n      access_keys:\n        - {id: AKID0000000000000001, secret: " + secret + "}\n  - name: b\n    aws:\n      account: \"222222222222\"\n      access_keys:\n        - {id: AKID0000000000000001, secret: x}\n", "auth.yaml:11: principal \"b\": AWS access key AKID0000000000000001 is listed twice"},
		{"bad domain", "principals:\n  - name: a\n    huawei:\n      domain_id: ABC\n      access_keys: [{ak: AK1, sk: " + secret + "}]\n", "auth.yaml:4: principal \"a\": huawei.domain_id"},
		{"duplicate Huawei key", "principals:\n  - name: a\n    huawei:\n      domain_id: 0a1b2c3d4e5f60718293a4b5c6d7e8f9\n      access_keys: [{ak: AK1, sk: " + secret + "}, {ak: AK1, sk: x}]\n", "auth.yaml:5: principal \"a\": Huawei access key AK1 is listed twice"},
		{"duplicate token", "principals:\n  - name: a\n    grpc: {tokens: [" + secret + "]}\n  - name: b\n    grpc:\n      tokens:\n        - " + secret + "\n", "auth.yaml:7: principal \"b\": grpc.tokens[0] is also a token of principal \"a\""},
		{"bad identity", "principals:\n  - name: a\n    grpc:\n      identities: [not-a-uri]\n", "auth.yaml:4: principal \"a\": grpc.identities[0]"},
		{"unknown rate limit", "principals:\n  - name: a\n    grpc: {tokens: [t]}\n    rate_limits:\n      Untag: 5\n", "auth.yaml:5: principal \"a\": rate_limits names \"Untag\", which is not one of TagResources, UntagResources"},
		{"negative rate limit", "principals:\n  - name: a\n    grpc: {tokens: [t]}\n    rate_limits:\n      UntagResources: -1\n", "auth.yaml:5: principal \"a\": rate_limits.UntagResources is -1"},
		{"rate limit not a number", "principals:\n  - name: a\n    grpc: {tokens: [t]}\n    rate_limits: {UntagResources: fast}\n", "auth.yaml:4: cannot unmarshal"},
		{"expiry without token", "principals:\n  - name: a\n    aws:\n      account: \"111111111111\"\n      access_keys:\n        - id: AKID0000000000000001\n          secret: x\n          expires_at: 2030-01-01T00:00:00Z\n", "auth.yaml:8: principal \"a\": aws.access_keys[0] (AKID0000000000000001) has expires_at"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("auth.yaml", []byte(tc.file))
			if err == nil {
				t.Fatal("parsed")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.want) {
				t.Fatalf("error %q, want it to start with %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, secret) {
				t.Fatalf("error %q spans lines or shows a secret", msg)
			}
		})
	}
}

func TestSourceReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.yaml")
	if err := os.WriteFile(path, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rotated := strings.ReplaceAll(example, "ops-token", "ops-token-2")
	if err := os.WriteFile(path, []byte(rotated), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Current().Token("ops-token"); ok {
		t.Fatal("the rotated-out token still works")
	}
	if _, ok := src.Current().Token("ops-token-2"); !ok {
		t.Fatal("the new token does not work")
	}
	// A bad version is refused and the one in force stays.
	if err := os.WriteFile(path, []byte("principals:\n  - name: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Reload(); err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Fatalf("bad reload: %v", err)
	}
	if _, ok := src.Current().Token("ops-token-2"); !ok {
		t.Fatal("a bad file replaced the one in force")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("opened a missing file")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte("principals:\n  - name: a\n    grpc: {tokens: [t]}\n"))
	f.Add([]byte("principals: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if len(s.Principals()) == 0 {
			t.Fatal("a set without principals parsed")
		}
	})
}
