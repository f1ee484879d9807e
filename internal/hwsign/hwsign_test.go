package hwsign

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/httpheader"
)

const (
	testAK    = "HPUAEXAMPLEAK"
	testSK    = "sk-SECRET-example"
	testToken = "tok-SECRET-example"
	tmpAK     = "TMPEXAMPLEAK"
	tmpSK     = "sk-SECRET-temporary"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testLookup(ak string) (Credential, bool) {
	switch ak {
	case testAK:
		return Credential{SecretKey: testSK}, true
	case tmpAK:
		return Credential{SecretKey: tmpSK, SecurityToken: testToken}, true
	case "NOSECRET":
		return Credential{}, true
	}
	return Credential{}, false
}

// fixture is one request, as a server receives it, with what verifies it.
type fixture struct {
	r    *http.Request
	body []byte
	v    *Verifier
	now  time.Time
	ak   string // the key sign uses
	sk   string
	host bool // sign host too
}

// resign signs f.r again after a change.
func (f *fixture) resign() string { return sign(f.r, f.body, f.ak, f.sk, f.host) }

// verify runs Verify on f.
func (f *fixture) verify() (Result, *Error) { return f.v.Verify(f.r, f.body, f.now) }

// serverRequest builds the request a server reads for method, decoded path,
// query and body, by parsing its wire form as net/http does.
func serverRequest(method, path string, query url.Values, body []byte) *http.Request {
	u := url.URL{Path: path, RawQuery: strings.ReplaceAll(query.Encode(), "+", "%20")}
	return httptest.NewRequest(method, u.RequestURI(), bytes.NewReader(body))
}

// newFixture returns a signed Organizations TagResource-like request, with a
// security token when temporary.
func newFixture(temporary bool) *fixture {
	body := []byte("{\"tags\":[{\"key\":\"环境\",\"value\":\"a<b>&c\"}]}\n")
	r := serverRequest("POST", "/v1/organizations/organizations:ous/ou-ключ 1/tags/create",
		url.Values{"limit": {"20"}, "marker": {"abc+/= x"}}, body)
	r.Header.Set("User-Agent", "huaweicloud-usdk-go/3.0; os/linux; go/1.26")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Domain-Id", "d-1")
	r.Header.Set("X-Sdk-Date", testNow.Format(DateLayout))
	f := &fixture{r: r, body: body, v: &Verifier{Lookup: testLookup}, now: testNow, ak: testAK, sk: testSK}
	if temporary {
		r.Header.Set("X-Security-Token", testToken)
		f.ak, f.sk = tmpAK, tmpSK
	}
	f.resign()
	return f
}

// TestSDKVector checks a request signed by huaweicloud-sdk-go-v3 v0.1.207's
// signer.Signer (recorded from a run) against Verify and the reference.
func TestSDKVector(t *testing.T) {
	body := []byte("{\"tags\":[{\"key\":\"环境\",\"value\":\"a<b>&c\"}]}\n")
	r := httptest.NewRequest("POST", "http://127.0.0.1:8080/v1/organizations/organizations:ous/ou-%D0%BA%D0%BB%D1%8E%D1%87%201/tags/create?limit=20&marker=abc%2B%2F%3D%20x", bytes.NewReader(body))
	r.Header.Set("User-Agent", "huaweicloud-usdk-go/3.0")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Domain-Id", "d-1")
	r.Header.Set("X-Security-Token", "tok-SECRET")
	r.Header.Set("X-Sdk-Date", "20260102T030405Z")
	const sig = "8484c80669d786f945d6539a4ec1a5d0cfbbaa2c0f130bbba6b1fc5da3e25c69"
	r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK, SignedHeaders=user-agent;x-domain-id;x-sdk-date;x-security-token, Signature="+sig)

	if got := refSignature("sk-SECRET-example", refStringToSign(r, body, signedHeadersOf(r))); got != sig {
		t.Fatalf("reference signature %s, SDK signed %s", got, sig)
	}
	v := &Verifier{Lookup: func(ak string) (Credential, bool) {
		return Credential{SecretKey: "sk-SECRET-example", SecurityToken: "tok-SECRET"}, ak == "HPUAEXAMPLEAK"
	}}
	res, err := v.Verify(r, body, testNow.Add(14*time.Minute))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.AccessKey != "HPUAEXAMPLEAK" || !res.Time.Equal(testNow) || res.Time.Location() != time.UTC {
		t.Fatalf("Result = %+v", res)
	}
	body[len(body)-2] = ']'
	if _, err := v.Verify(r, body, testNow); err == nil || err.Message != msgBadSignature {
		t.Fatalf("Verify with a changed body: %v", err)
	}
}

func TestVerifyAccepts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		temporary bool
		change    func(f *fixture)
		keepAuth  bool // do not sign again after change
	}{
		{name: "permanent"},
		{name: "temporary", temporary: true},
		{name: "GET without body or query", change: func(f *fixture) {
			f.r = serverRequest("GET", "/v1/organizations/organizations:accounts/05261f/tags", nil, nil)
			f.r.Header.Set("User-Agent", "ua")
			f.r.Header.Set("Content-Type", "application/json")
			f.r.Header.Set("X-Sdk-Date", testNow.Format(DateLayout))
			f.body = nil
		}},
		{name: "host signed", change: func(f *fixture) { f.host = true }},
		{name: "host signed, with a port", change: func(f *fixture) { f.host, f.r.Host = true, "127.0.0.1:8443" }},
		{name: "several values of a signed header", change: func(f *fixture) {
			f.r.Header.Add("X-Extra", "zeta ")
			f.r.Header.Add("X-Extra", " alpha")
		}},
		{name: "repeated and empty query values", change: func(f *fixture) {
			f.r.URL.RawQuery = "b=2&a=&b=1&c&a=x%20y+z&&%C3%A9=%E2%82%AC"
		}},
		{name: "path with a trailing slash", change: func(f *fixture) { f.r.URL.Path = "/v1/organizations/" }},
		{name: "empty path", change: func(f *fixture) { f.r.URL.Path = "" }},
		{name: "matching X-Sdk-Content-Sha256", change: func(f *fixture) {
			f.r.Header.Set("X-Sdk-Content-Sha256", refPayloadHash(f.body))
		}},
		{name: "date 15 minutes old", change: func(f *fixture) { f.now = f.now.Add(DefaultMaxSkew) }},
		{name: "date 15 minutes ahead", change: func(f *fixture) { f.now = f.now.Add(-DefaultMaxSkew) }},
		{name: "custom skew", change: func(f *fixture) { f.v.MaxSkew, f.now = time.Hour, f.now.Add(time.Hour) }},
		{name: "Authorization without spaces after commas", change: func(f *fixture) {
			f.r.Header.Set("Authorization", strings.ReplaceAll(f.r.Header.Get("Authorization"), ", ", ","))
		}, keepAuth: true},
		{name: "Authorization parts in another order, extra spaces", change: func(f *fixture) {
			a := f.r.Header.Get("Authorization")
			_, parts, _ := strings.Cut(a, " ")
			p := strings.Split(parts, ", ")
			f.r.Header.Set("Authorization", "SDK-HMAC-SHA256   "+p[2]+" ,  "+p[0]+" , "+p[1]+"  ")
		}, keepAuth: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(tc.temporary)
			if tc.change != nil {
				tc.change(f)
				if !tc.keepAuth {
					f.resign()
				}
			}
			res, err := f.verify()
			if err != nil {
				t.Fatalf("Verify: %v\nAuthorization: %s", err, f.r.Header.Get("Authorization"))
			}
			if res.AccessKey != f.ak || !res.Time.Equal(testNow) {
				t.Fatalf("Result = %+v", res)
			}
		})
	}
}

// refPayloadHash is the payload hash of body.
func refPayloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// refusal is one way a request fails, and the exact message it must give.
type refusal struct {
	name      string
	temporary bool
	change    func(f *fixture)
	resign    bool // sign again after change, so that only the check under test can refuse
	want      string
}

// replaceAuth returns a change that rewrites Authorization.
func replaceAuth(old, new string) func(f *fixture) {
	return func(f *fixture) {
		a := f.r.Header.Get("Authorization")
		if !strings.Contains(a, old) {
			panic("no " + old + " in " + a)
		}
		f.r.Header.Set("Authorization", strings.Replace(a, old, new, 1))
	}
}

// setAuthPart returns a change that sets one part of Authorization to s.
func setAuthPart(part, s string) func(f *fixture) {
	return func(f *fixture) {
		a := f.r.Header.Get("Authorization")
		i := strings.Index(a, part+"=")
		j := strings.Index(a[i:], ",")
		if j < 0 {
			j = len(a) - i
		}
		f.r.Header.Set("Authorization", a[:i]+s+a[i+j:])
	}
}

// setSignedHeaders returns a change that signs exactly names (in that order).
func setSignedHeaders(names string) func(f *fixture) {
	return func(f *fixture) {
		sig := refSignature(f.sk, refStringToSign(f.r, f.body, names))
		f.r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access="+f.ak+", SignedHeaders="+names+", Signature="+sig)
	}
}

const unsupported = " is not supported; only SDK-HMAC-SHA256 is"

var refusals = []refusal{
	// The Authorization header.
	{name: "no Authorization", change: func(f *fixture) { f.r.Header.Del("Authorization") },
		want: "the request is not signed: the Authorization header is missing"},
	{name: "two Authorization headers", change: func(f *fixture) { f.r.Header.Add("Authorization", f.r.Header.Get("Authorization")) },
		want: "the request has more than one Authorization header"},
	{name: "empty Authorization", change: func(f *fixture) { f.r.Header.Set("Authorization", "") },
		want: "the Authorization header is empty"},
	{name: "SDK-HMAC-SM3", change: replaceAuth("SDK-HMAC-SHA256", "SDK-HMAC-SM3"), want: `the signing algorithm "SDK-HMAC-SM3"` + unsupported},
	{name: "SDK-ECDSA-P256-SHA256", change: replaceAuth("SDK-HMAC-SHA256", "SDK-ECDSA-P256-SHA256"), want: `the signing algorithm "SDK-ECDSA-P256-SHA256"` + unsupported},
	{name: "SDK-SM2-SM3", change: replaceAuth("SDK-HMAC-SHA256", "SDK-SM2-SM3"), want: `the signing algorithm "SDK-SM2-SM3"` + unsupported},
	{name: "V11-HMAC-SHA256", change: func(f *fixture) {
		f.r.Header.Set("Authorization", "V11-HMAC-SHA256 Credential="+testAK+"/20260102/cn-north-4/organizations, SignedHeaders=x-sdk-date, Signature=00")
	}, want: `the signing algorithm "V11-HMAC-SHA256"` + unsupported},
	{name: "AWS4-HMAC-SHA256", change: func(f *fixture) {
		f.r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/tagging/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	}, want: `the signing algorithm "AWS4-HMAC-SHA256"` + unsupported},
	{name: "lower-case scheme", change: replaceAuth("SDK-HMAC-SHA256", "sdk-hmac-sha256"), want: `the signing algorithm "sdk-hmac-sha256"` + unsupported},
	{name: "scheme alone", change: func(f *fixture) { f.r.Header.Set("Authorization", "SDK-HMAC-SHA256") },
		want: "the Authorization header has no Access"},
	{name: "long scheme is cut short", change: func(f *fixture) { f.r.Header.Set("Authorization", strings.Repeat("X", 100)+" a=b") },
		want: `the signing algorithm "` + strings.Repeat("X", 64) + `"...` + unsupported},
	{name: "unknown part", change: setAuthPart("Access", "Other=1"), want: "the Authorization header has an unknown part \"Other\""},
	{name: "Access missing", change: func(f *fixture) {
		f.r.Header.Set("Authorization", "SDK-HMAC-SHA256 SignedHeaders=x-sdk-date, Signature="+strings.Repeat("0", 64))
	}, want: "the Authorization header has no Access"},
	{name: "SignedHeaders missing", change: func(f *fixture) {
		f.r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access=AK, Signature="+strings.Repeat("0", 64))
	}, want: "the Authorization header has no SignedHeaders"},
	{name: "Signature missing", change: func(f *fixture) {
		f.r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date")
	}, want: "the Authorization header has no Signature"},
	{name: "empty Access", change: setAuthPart("Access", "Access="), want: "the Authorization header has a malformed Access: it must be 1 to 128 printable ASCII characters"},
	{name: "non-ASCII Access", change: setAuthPart("Access", "Access=ключ"), want: "the Authorization header has a malformed Access: it must be 1 to 128 printable ASCII characters"},
	{name: "long Access", change: setAuthPart("Access", "Access="+strings.Repeat("A", 129)), want: "the Authorization header has a malformed Access: it must be 1 to 128 printable ASCII characters"},
	{name: "two Access", change: replaceAuth(", SignedHeaders", ", Access=AK, SignedHeaders"), want: "the Authorization header has more than one Access"},
	{name: "two SignedHeaders", change: replaceAuth(", Signature", ", SignedHeaders=x-sdk-date, Signature"), want: "the Authorization header has more than one SignedHeaders"},
	{name: "two Signature", change: func(f *fixture) {
		f.r.Header.Set("Authorization", f.r.Header.Get("Authorization")+", Signature="+strings.Repeat("0", 64))
	},
		want: "the Authorization header has more than one Signature"},
	{name: "empty SignedHeaders", change: setAuthPart("SignedHeaders", "SignedHeaders="), want: "the Authorization header has malformed SignedHeaders: it is empty"},
	{name: "upper-case SignedHeaders", change: setAuthPart("SignedHeaders", "SignedHeaders=User-Agent;x-sdk-date"),
		want: `the Authorization header has malformed SignedHeaders: the name "User-Agent" is not a lower-case header name`},
	{name: "space in SignedHeaders", change: setAuthPart("SignedHeaders", "SignedHeaders=user-agent; x-sdk-date"),
		want: `the Authorization header has malformed SignedHeaders: the name " x-sdk-date" is not a lower-case header name`},
	{name: "empty name in SignedHeaders", change: setAuthPart("SignedHeaders", "SignedHeaders=user-agent;;x-sdk-date"),
		want: "the Authorization header has malformed SignedHeaders: it has an empty name"},
	{name: "trailing ';' in SignedHeaders", change: setAuthPart("SignedHeaders", "SignedHeaders=x-sdk-date;"),
		want: "the Authorization header has malformed SignedHeaders: it has an empty name"},
	{name: "repeated name in SignedHeaders", change: setAuthPart("SignedHeaders", "SignedHeaders=user-agent;x-sdk-date;user-agent"),
		want: "the Authorization header has malformed SignedHeaders: it lists user-agent more than once"},
	{name: "65 names in SignedHeaders", change: setAuthPart("SignedHeaders", "SignedHeaders=x-sdk-date"+strings.Repeat(";a", 64)),
		want: "the Authorization header has malformed SignedHeaders: it lists more than 64 headers"},
	{name: "upper-case hex in Signature", change: func(f *fixture) {
		a := f.r.Header.Get("Authorization")
		i := strings.Index(a, "Signature=") + len("Signature=")
		f.r.Header.Set("Authorization", a[:i]+strings.ToUpper(a[i:]))
	}, want: "the Authorization header has a malformed Signature: it must be 64 lower-case hex digits"},
	{name: "short Signature", change: func(f *fixture) { a := f.r.Header.Get("Authorization"); f.r.Header.Set("Authorization", a[:len(a)-1]) },
		want: "the Authorization header has a malformed Signature: it must be 64 lower-case hex digits"},
	{name: "non-hex Signature", change: setAuthPart("Signature", "Signature="+strings.Repeat("g", 64)),
		want: "the Authorization header has a malformed Signature: it must be 64 lower-case hex digits"},
	{name: "part without '='", change: replaceAuth(", Signature", ", Bogus, Signature"), want: `the Authorization header has a part without '=': "Bogus"`},
	{name: "empty part", change: replaceAuth(", Signature", ",, Signature"), want: "the Authorization header has an empty part"},
	{name: "lower-case part name", change: replaceAuth("Access=", "access="), want: `the Authorization header has an unknown part "access"`},

	// X-Sdk-Date.
	{name: "x-sdk-date not signed", change: setSignedHeaders("user-agent;x-domain-id"), want: "x-sdk-date is not in SignedHeaders"},
	{name: "X-Sdk-Date missing", change: func(f *fixture) { f.r.Header.Del("X-Sdk-Date") }, want: "the X-Sdk-Date header is missing"},
	{name: "two X-Sdk-Date", change: func(f *fixture) { f.r.Header.Add("X-Sdk-Date", f.r.Header.Get("X-Sdk-Date")) }, resign: true,
		want: "the request has more than one X-Sdk-Date header"},
	{name: "ISO X-Sdk-Date", change: func(f *fixture) { f.r.Header.Set("X-Sdk-Date", "2026-01-02T03:04:05Z") }, resign: true,
		want: `X-Sdk-Date "2026-01-02T03:04:05Z" is not of the form 20060102T150405Z`},
	{name: "X-Sdk-Date without Z", change: func(f *fixture) { f.r.Header.Set("X-Sdk-Date", "20260102T030405") }, resign: true,
		want: `X-Sdk-Date "20260102T030405" is not of the form 20060102T150405Z`},
	{name: "X-Sdk-Date with fraction", change: func(f *fixture) { f.r.Header.Set("X-Sdk-Date", "20260102T030405.5Z") }, resign: true,
		want: `X-Sdk-Date "20260102T030405.5Z" is not of the form 20060102T150405Z`},
	{name: "X-Sdk-Date month 13", change: func(f *fixture) { f.r.Header.Set("X-Sdk-Date", "20261302T030405Z") }, resign: true,
		want: `X-Sdk-Date "20261302T030405Z" is not of the form 20060102T150405Z`},
	{name: "X-Sdk-Date with sign", change: func(f *fixture) { f.r.Header.Set("X-Sdk-Date", "+0260102T030405Z") }, resign: true,
		want: `X-Sdk-Date "+0260102T030405Z" is not of the form 20060102T150405Z`},
	{name: "X-Sdk-Date too old", change: func(f *fixture) { f.now = f.now.Add(DefaultMaxSkew + time.Second) },
		want: "X-Sdk-Date 20260102T030405Z is more than 15 minutes from the server's time"},
	{name: "X-Sdk-Date too new", change: func(f *fixture) { f.now = f.now.Add(-DefaultMaxSkew - time.Second) },
		want: "X-Sdk-Date 20260102T030405Z is more than 15 minutes from the server's time"},
	{name: "custom skew", change: func(f *fixture) { f.v.MaxSkew, f.now = 90*time.Second, f.now.Add(91*time.Second) },
		want: "X-Sdk-Date 20260102T030405Z is more than 1m30s from the server's time"},
	{name: "one-minute skew", change: func(f *fixture) { f.v.MaxSkew, f.now = time.Minute, f.now.Add(61*time.Second) },
		want: "X-Sdk-Date 20260102T030405Z is more than 1 minute from the server's time"},

	// The access key.
	{name: "unknown access key", change: func(f *fixture) { f.ak = "UNKNOWNAK" }, resign: true,
		want: "verify aksk signature fail: the access key UNKNOWNAK does not exist"},
	{name: "nil Lookup", change: func(f *fixture) { f.v.Lookup = nil },
		want: "verify aksk signature fail: the access key " + testAK + " does not exist"},
	{name: "credential without a secret key", change: func(f *fixture) { f.ak, f.sk = "NOSECRET", "" }, resign: true,
		want: "verify aksk signature fail: the access key NOSECRET does not exist"},

	// The security token.
	{name: "token missing", temporary: true, change: func(f *fixture) { f.r.Header.Del("X-Security-Token") }, resign: true, want: msgBadToken},
	{name: "token unsigned", temporary: true, change: setSignedHeaders("user-agent;x-domain-id;x-sdk-date"), want: msgBadToken},
	{name: "token wrong", temporary: true, change: func(f *fixture) { f.r.Header.Set("X-Security-Token", testToken+"x") }, resign: true, want: msgBadToken},
	{name: "token empty", temporary: true, change: func(f *fixture) { f.r.Header.Set("X-Security-Token", "") }, resign: true, want: msgBadToken},
	{name: "token twice", temporary: true, change: func(f *fixture) { f.r.Header.Add("X-Security-Token", testToken) }, resign: true, want: msgBadToken},
	{name: "token of another key", change: func(f *fixture) { f.r.Header.Set("X-Security-Token", testToken) }, resign: true, want: msgBadToken},
	{name: "unsigned token on a permanent key", change: func(f *fixture) { f.r.Header.Set("X-Security-Token", testToken) }, want: msgBadToken},
	{name: "token signed but absent on a permanent key", change: setSignedHeaders("user-agent;x-sdk-date;x-security-token"), want: msgBadToken},

	// Signed headers.
	{name: "signed header missing", change: func(f *fixture) { f.r.Header.Del("User-Agent") },
		want: "the signed header user-agent is missing from the request"},
	{name: "signed host empty", change: func(f *fixture) { f.host = true; f.resign(); f.r.Host = "" },
		want: "the signed header host is missing from the request"},
	{name: "line break in a signed value", change: func(f *fixture) { f.r.Header.Set("X-Domain-Id", "d-1\nx-sdk-date:1") }, resign: true,
		want: "the signed header x-domain-id has a line break in its value"},
	{name: "line break in a signed host", change: func(f *fixture) { f.host, f.r.Host = true, "a\nb" }, resign: true,
		want: "the signed header host has a line break in its value"},

	// The payload.
	{name: "UNSIGNED-PAYLOAD", change: func(f *fixture) { f.r.Header.Set("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD") }, resign: true,
		want: "unsigned payloads are not accepted: X-Sdk-Content-Sha256 is UNSIGNED-PAYLOAD"},
	{name: "X-Sdk-Content-Sha256 of another body", change: func(f *fixture) { f.r.Header.Set("X-Sdk-Content-Sha256", refPayloadHash([]byte("{}\n"))) }, resign: true,
		want: "X-Sdk-Content-Sha256 does not match the SHA-256 of the body"},
	{name: "X-Sdk-Content-Sha256 in upper case", change: func(f *fixture) { f.r.Header.Set("X-Sdk-Content-Sha256", strings.ToUpper(refPayloadHash(f.body))) }, resign: true,
		want: "X-Sdk-Content-Sha256 does not match the SHA-256 of the body"},
	{name: "two X-Sdk-Content-Sha256", change: func(f *fixture) {
		f.r.Header.Add("X-Sdk-Content-Sha256", refPayloadHash(f.body))
		f.r.Header.Add("X-Sdk-Content-Sha256", refPayloadHash(f.body))
	}, resign: true, want: "the request has more than one X-Sdk-Content-Sha256 header"},

	// The query.
	{name: "semicolon in the query", change: func(f *fixture) { f.r.URL.RawQuery += "&x;y=1" }, resign: true,
		want: "the query string is malformed: it contains a semicolon"},
	{name: "bad escape in the query", change: func(f *fixture) { f.r.URL.RawQuery += "&x=%zz" }, resign: true,
		want: "the query string is malformed: it has an invalid %-escape"},
	{name: "bad escape in a query key", change: func(f *fixture) { f.r.URL.RawQuery += "&%=1" }, resign: true,
		want: "the query string is malformed: it has an invalid %-escape"},
	{name: "too many query parameters", change: func(f *fixture) { f.r.URL.RawQuery += strings.Repeat("&", 10000) }, resign: true,
		want: "the query string has more than 10000 parameters"},

	// The signature.
	{name: "wrong secret key", change: func(f *fixture) { f.sk = "another" }, resign: true, want: msgBadSignature},
	{name: "body byte changed", change: func(f *fixture) { f.body[3] = 'T' }, want: msgBadSignature},
	{name: "body byte appended", change: func(f *fixture) { f.body = append(f.body, '\n') }, want: msgBadSignature},
	{name: "signed header changed", change: func(f *fixture) { f.r.Header.Set("X-Domain-Id", "d-2") }, want: msgBadSignature},
	{name: "signed header added a value", change: func(f *fixture) { f.r.Header.Add("X-Domain-Id", "d-1") }, want: msgBadSignature},
	{name: "date changed within the window", change: func(f *fixture) { f.r.Header.Set("X-Sdk-Date", testNow.Add(time.Second).Format(DateLayout)) }, want: msgBadSignature},
	{name: "method changed", change: func(f *fixture) { f.r.Method = "PUT" }, want: msgBadSignature},
	{name: "path segment changed", change: func(f *fixture) { f.r.URL.Path = strings.Replace(f.r.URL.Path, "ключ", "ключ2", 1) }, want: msgBadSignature},
	{name: "path segment split", change: func(f *fixture) { f.r.URL.Path = strings.Replace(f.r.URL.Path, "tags/create", "tags/cre/ate", 1) }, want: msgBadSignature},
	{name: "query value changed", change: func(f *fixture) { f.r.URL.RawQuery = strings.Replace(f.r.URL.RawQuery, "limit=20", "limit=21", 1) }, want: msgBadSignature},
	{name: "query parameter added", change: func(f *fixture) { f.r.URL.RawQuery += "&offset=1" }, want: msgBadSignature},
	{name: "query parameter removed", change: func(f *fixture) { f.r.URL.RawQuery = "limit=20" }, want: msgBadSignature},
	{name: "host changed", change: func(f *fixture) { f.host = true; f.resign(); f.r.Host = "other.example" }, want: msgBadSignature},
	{name: "signed headers reordered", change: func(f *fixture) {
		a := f.r.Header.Get("Authorization")
		f.r.Header.Set("Authorization", strings.Replace(a, "user-agent;x-domain-id", "x-domain-id;user-agent", 1))
	}, want: msgBadSignature},
	{name: "temporary key without its token's key", temporary: true, change: func(f *fixture) { f.sk = testSK }, resign: true, want: msgBadSignature},
}

func TestVerifyRefusals(t *testing.T) {
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(tc.temporary)
			if _, err := f.verify(); err != nil {
				t.Fatalf("the fixture does not verify: %v", err)
			}
			tc.change(f)
			if tc.resign {
				f.resign()
			}
			res, err := f.verify()
			if err == nil {
				t.Fatalf("Verify accepted: %+v", res)
			}
			if err.Message != tc.want {
				t.Fatalf("Verify: %q\n                       want %q", err.Message, tc.want)
			}
			if res != (Result{}) {
				t.Fatalf("Verify failed with a Result: %+v", res)
			}
			if err.Error() != "hwsign: "+tc.want {
				t.Fatalf("Error() = %q", err.Error())
			}
		})
	}
}

// TestMessagesKeepSecrets checks that no refusal names the secret key, the
// security token, or the signature the request should have carried.
func TestMessagesKeepSecrets(t *testing.T) {
	for _, tc := range refusals {
		for _, temporary := range []bool{false, true} {
			f := newFixture(temporary || tc.temporary)
			signed := f.r.Header.Get("Authorization")
			tc.change(f)
			if tc.resign {
				f.resign()
			}
			_, err := f.verify()
			if err == nil {
				continue // the change does not apply to this variant
			}
			secrets := []string{testSK, tmpSK, testToken, signed[strings.Index(signed, "Signature=")+10:]}
			if f.r.URL != nil && f.r.Header.Get("X-Sdk-Date") != "" {
				// The signature the changed request should carry under each key.
				sh := signedHeadersOf(f.r)
				if strings.Contains(sh, "x-sdk-date") {
					sts := refStringToSign(f.r, f.body, sh)
					secrets = append(secrets, refSignature(testSK, sts), refSignature(tmpSK, sts))
				}
			}
			for _, s := range secrets {
				if strings.Contains(err.Message, s) {
					t.Errorf("%s: message %q contains the secret %q", tc.name, err.Message, s)
				}
			}
		}
	}
}

// TestHeaderValues checks the allocation-free key canonicalization against
// net/http's.
func TestHeaderValues(t *testing.T) {
	h := http.Header{}
	for _, name := range []string{"x-sdk-date", "user-agent", "a", "x--y", "-x", "x-", "0-a", "x_y-z", "a.b-c!d#e$f%g&h'i*j+k^l`m|n~o", strings.Repeat("abc-", 20)} {
		h.Set(name, "v-"+name)
		if got := httpheader.Values(h, name); len(got) != 1 || got[0] != "v-"+name {
			t.Errorf("httpheader.Values(%q) = %q; key %q", name, got, http.CanonicalHeaderKey(name))
		}
	}
	if got := httpheader.Values(h, "absent"); got != nil {
		t.Errorf("httpheader.Values(absent) = %q", got)
	}
}

// TestCanonicalQuery checks the query canonicalization against the decoding
// of url.ParseQuery.
func TestCanonicalQuery(t *testing.T) {
	for _, raw := range []string{"", "a", "a=", "=", "=v", "&&", "a=1&a=0&b", "k=%2B%2F%3D", "k=a+b", "%E2%82%AC=%E2%82%AC", "a=%41&A=a", "x=y=z", "a&b&", "c=3&b=2&a=1&b=1"} {
		got, err := appendCanonicalQuery(nil, raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if want := refQuery(t, raw); string(got) != want {
			t.Errorf("%q: canonical %q, want %q", raw, got, want)
		}
	}
}

// refQuery is the query line of refCanonical for raw.
func refQuery(t testing.TB, raw string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.URL.RawQuery = raw
	return strings.Split(refCanonical(r, nil, "x"), "\n")[2]
}

func TestVerifyAllocations(t *testing.T) {
	f := newFixture(true)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := f.verify(); err != nil {
			t.Fatal(err)
		}
	})
	// crypto/hmac's states and its sum, the string to sign that escapes into
	// it, and the one query value that needs unescaping; the canonical
	// request, the query list and the header keys stay on the stack.
	if allocs > 10 {
		t.Fatalf("Verify allocates %v times", allocs)
	}
	t.Logf("Verify allocates %v times", allocs)
}

func BenchmarkVerify(b *testing.B) {
	for _, temporary := range []bool{false, true} {
		name := "permanent"
		if temporary {
			name = "temporary"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(temporary)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.verify(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
