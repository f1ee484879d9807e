package sigv4

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tagway/tagway/internal/hmacpool"
)

// sdkVectors are requests signed by aws-sdk-go-v2 v1.47.7 (v4.Signer.SignHTTP)
// and dumped as net/http's server received them, with the verifier
// settings they need. The first two are the "get-vanilla" and
// "post-x-www-form-urlencoded" cases of the AWS SigV4 test suite (the SDK
// gives the suite's signatures).
var sdkVectors = []struct {
	name, service, secret, token string
	now                          time.Time
	raw                          string
}{
	{"get-vanilla", "service", testSecret, "", time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC),
		"GET / HTTP/1.1\r\nHost: example.amazonaws.com\r\nX-Amz-Date: 20150830T123600Z\r\n" +
			"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\r\n\r\n"},
	{"post-x-www-form-urlencoded", "service", testSecret, "", time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC),
		"POST / HTTP/1.1\r\nHost: example.amazonaws.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 13\r\nX-Amz-Date: 20150830T123600Z\r\n" +
			"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a\r\n\r\nParam1=value1"},
	{"tagging call", "tagging", testSecret, "", testNow,
		"POST / HTTP/1.1\r\nHost: 127.0.0.1:36913\r\nAccept-Encoding: gzip\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/tagging/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target, Signature=bdcf340d6798c04bb34c13da828efa8b9bea5b98377f1383a935effe8462d1da\r\nContent-Length: 23\r\nContent-Type: application/x-amz-json-1.1\r\nUser-Agent: Go-http-client/1.1\r\nX-Amz-Date: 20261126T071500Z\r\nX-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources\r\n\r\n{\"ResourcesPerPage\":50}"},
	{"path with space, percent and unicode", "tagging", testSecret, "", testNow,
		"POST /aws/a%20b/50%25/%C3%BC/ HTTP/1.1\r\nHost: 127.0.0.1:36913\r\nAccept-Encoding: gzip\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/eu-isoe-west-1/tagging/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target, Signature=cf47c3780630dff5f2f7b3940dfd34ef2ff69c1b872d42d7fea00b610f0f55b2\r\nContent-Length: 2\r\nContent-Type: application/x-amz-json-1.1\r\nUser-Agent: Go-http-client/1.1\r\nX-Amz-Date: 20261126T071500Z\r\nX-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetTagKeys\r\n\r\n{}"},
	{"query", "tagging", testSecret, "", testNow,
		"GET /q?a=1&a=x%20y&b=2&c=%2F&d=&e=%C3%BC~ HTTP/1.1\r\nHost: 127.0.0.1:36913\r\nAccept-Encoding: gzip\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/tagging/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=6413a8dde8ce494a67f666bfdbe0cb6dd8e40eb8213178f3fbe7a59ae31fee33\r\nUser-Agent: Go-http-client/1.1\r\nX-Amz-Date: 20261126T071500Z\r\nX-Amz-Target: T\r\n\r\n"},
	{"session token, repeated and spaced headers", "tagging", testSecret, "FQoGZXIvYXdzEXAMPLETOKEN//+=", testNow,
		"POST / HTTP/1.1\r\nHost: 127.0.0.1:36913\r\nAccept-Encoding: gzip\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-gov-west-1/tagging/aws4_request, SignedHeaders=content-length;host;x-amz-date;x-amz-security-token;x-amz-target;x-multi;x-spaces, Signature=efa7bfbc336b82ffd7a9416216131b7284f090d5968a38bbb0e0a27315b0e0eb\r\nContent-Length: 1\r\nUser-Agent: Go-http-client/1.1\r\nX-Amz-Date: 20261126T071500Z\r\nX-Amz-Security-Token: FQoGZXIvYXdzEXAMPLETOKEN//+=\r\nX-Amz-Target: T\r\nX-Multi: one\r\nX-Multi: two  three\r\nX-Spaces: a   b  c\r\n\r\nx"},
}

func TestSDKVectors(t *testing.T) {
	for _, c := range sdkVectors {
		t.Run(c.name, func(t *testing.T) {
			v := &Verifier{Service: c.service, Lookup: func(id string) (Credential, bool) {
				return Credential{Secret: c.secret, SessionToken: c.token}, id == testAKID
			}}
			head, body, _ := strings.Cut(c.raw, "\r\n\r\n")
			r := parseRequest(t, c.raw)
			if _, err := v.Verify(r, []byte(body), c.now); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// The same request with one digit of the signature changed fails.
			i := strings.Index(head, "Signature=") + len("Signature=")
			digit := "0"
			if head[i] == '0' {
				digit = "1"
			}
			r = parseRequest(t, head[:i]+digit+head[i+1:]+"\r\n\r\n"+body)
			if _, err := v.Verify(r, []byte(body), c.now); err == nil || err.Message != mismatchMessage {
				t.Fatalf("Verify with a changed signature: %v", err)
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	cases := []struct {
		name   string
		signer testSigner
		at     time.Time
		// raw is the request; "" means newRequest's.
		raw   string
		extra []string
		// before changes the request before signing, to give it what
		// net/http's server would not.
		before func(r *http.Request)
		// after changes the request after signing, as a proxy or
		// net/http's server may without breaking the signature.
		after func(r *http.Request)
	}{
		{name: "permanent key", signer: permanent, at: testNow},
		{name: "temporary key", signer: temporary, at: testNow},
		{name: "5 minutes early", signer: permanent, at: testNow.Add(-5 * time.Minute)},
		{name: "5 minutes late", signer: permanent, at: testNow.Add(5 * time.Minute)},
		{name: "other region", signer: testSigner{akid: testAKID, secret: testSecret, region: "cn-north-1", service: "tagging"}, at: testNow},
		{name: "unsigned headers added", signer: permanent, at: testNow, after: func(r *http.Request) {
			r.Header.Set("X-Forwarded-For", "10.0.0.1")
			r.Header.Set("X-Request-Id", "abc")
			r.Header.Set("User-Agent", "other")
		}},
		{name: "content-length from the request", signer: permanent, at: testNow, after: func(r *http.Request) {
			r.Header.Del("Content-Length")
		}},
		{name: "expect consumed by the server", signer: permanent, at: testNow, extra: []string{"expect"},
			raw:   "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nX-Amz-Target: T\r\n\r\n",
			after: func(r *http.Request) { r.Header.Del("Expect") }},
		{name: "transfer-encoding", signer: permanent, at: testNow, extra: []string{"transfer-encoding"},
			raw: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Amz-Target: T\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{name: "unsorted query", signer: permanent, at: testNow,
			raw: "GET /?b=2&a=x+y&a=1&c=%2F&d&&e=%C3%BC~&a-b=3&=v HTTP/1.1\r\nHost: h:8080\r\nX-Amz-Target: T\r\n\r\n"},
		{name: "escaped path", signer: permanent, at: testNow,
			raw: "POST /aws/a%20b/50%25/%C3%BC/%2F/x+y HTTP/1.1\r\nHost: h\r\nX-Amz-Target: T\r\n\r\n"},
		{name: "repeated and spaced headers", signer: permanent, at: testNow, extra: []string{"x-multi", "x-spaces", "x-empty"},
			raw: "POST / HTTP/1.1\r\nHost:  h  \r\nX-Amz-Target: T\r\nX-Multi: one\r\nX-Multi:  two \t three \r\nX-Spaces: a\t\t b   c\r\nX-Empty:\r\n\r\n"},
		{name: "values with outer tabs", signer: permanent, at: testNow, extra: []string{"x-tabs"},
			raw: "POST / HTTP/1.1\r\nHost: h\r\nX-Amz-Target: T\r\n\r\n",
			before: func(r *http.Request) {
				r.Host = "\th \t"
				r.Header["X-Tabs"] = []string{"\t a\t\tb \t", "\tc"}
			}},
		{name: "signed x-amz-content-sha256", signer: permanent, at: testNow, extra: []string{"x-amz-content-sha256"},
			raw: "POST / HTTP/1.1\r\nHost: h\r\nX-Amz-Target: T\r\nX-Amz-Content-Sha256: anything\r\n\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r *http.Request
			body := []byte(testBody)
			extra := c.extra
			if c.raw == "" {
				r = newRequest(t, testBody)
				extra = callHeaders
			} else {
				r = parseRequest(t, c.raw)
				extra = append(extra, "x-amz-target")
				if strings.HasPrefix(c.raw, "GET") {
					body = nil
				}
				if strings.Contains(c.raw, "chunked") {
					body = []byte("hello")
				}
			}
			if c.before != nil {
				c.before(r)
			}
			c.signer.sign(r, body, c.at, extra...)
			if c.after != nil {
				c.after(r)
			}
			v := testVerifier()
			res, err := v.Verify(r, body, testNow)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := Result{AccessKeyID: c.signer.akid, Region: c.signer.region, Time: c.at}
			if res != want {
				t.Fatalf("Verify = %+v, want %+v", res, want)
			}
			// Again, with the signing key from the cache.
			if _, err := v.Verify(r, body, testNow); err != nil {
				t.Fatalf("second Verify: %v", err)
			}
		})
	}
}

// errorCase is a request that Verify refuses.
type errorCase struct {
	name string
	// req returns the request and its body.
	req func(t *testing.T) (*http.Request, []byte)
	// skew sets Verifier.MaxSkew.
	skew time.Duration
	code string
	// msg is the exact message, or with a trailing "*" its prefix.
	msg string
}

const (
	testCred   = "AKIDEXAMPLE/20261126/us-east-1/tagging/aws4_request"
	testSigned = "content-length;content-type;host;x-amz-date;x-amz-target"
)

// signed returns a request setup: a call signed by s at t, changed by
// change.
func signed(s testSigner, t time.Time, change func(r *http.Request, body []byte) []byte) func(*testing.T) (*http.Request, []byte) {
	return func(tt *testing.T) (*http.Request, []byte) {
		r, body, _ := signedCall(tt, s, t)
		if change != nil {
			body = change(r, body)
		}
		return r, body
	}
}

// withAuth returns a setup that replaces the Authorization header of a
// valid call by h, in which "SIG" stands for the call's signature.
func withAuth(h string) func(*testing.T) (*http.Request, []byte) {
	return func(t *testing.T) (*http.Request, []byte) {
		r, body, sig := signedCall(t, permanent, testNow)
		r.Header.Set("Authorization", strings.ReplaceAll(h, "SIG", sig))
		return r, body
	}
}

func setHeader(name, value string) func(r *http.Request, body []byte) []byte {
	return func(r *http.Request, body []byte) []byte {
		r.Header.Set(name, value)
		return body
	}
}

func errorCases() []errorCase {
	const (
		incomplete   = codeIncomplete
		invalid      = codeInvalid
		unrecognized = codeUnrecognized
	)
	mustSign := func(h string) string { return "'" + h + "' must be a 'SignedHeader' in the AWS Authorization." }
	badSigned := func(s string) string {
		return "SignedHeaders must be lower-case header names, sorted, without duplicates and separated by ';', not '" + s + "'."
	}
	badCred := func(s string) string {
		return "Credential is malformed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\", not '" + s + "'."
	}
	badDate := func(s string) string {
		return "X-Amz-Date must be in the ISO8601 basic format yyyyMMdd'T'HHmmss'Z', not '" + s + "'."
	}
	other := func(s testSigner, f func(*testSigner)) testSigner { f(&s); return s }
	return []errorCase{
		{name: "no Authorization", code: codeMissingToken, msg: "Missing Authentication Token",
			req: signed(permanent, testNow, func(r *http.Request, b []byte) []byte { r.Header.Del("Authorization"); return b })},
		{name: "empty Authorization", code: codeMissingToken, msg: "Missing Authentication Token", req: withAuth("")},
		{name: "two Authorization headers", code: incomplete, msg: "Authorization header must be sent only once.",
			req: signed(permanent, testNow, func(r *http.Request, b []byte) []byte {
				r.Header.Add("Authorization", r.Header.Get("Authorization"))
				return b
			})},
		{name: "other scheme", code: incomplete, msg: "Authorization header requires the 'AWS4-HMAC-SHA256' scheme.",
			req: withAuth("Bearer " + testToken)},
		{name: "other algorithm", code: incomplete, msg: "Authorization header requires the 'AWS4-HMAC-SHA256' scheme.",
			req: withAuth("AWS4-HMAC-SHA512 Credential=" + testCred + ", SignedHeaders=" + testSigned + ", Signature=SIG")},
		{name: "scheme only", code: incomplete,
			msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256",
			req: withAuth("AWS4-HMAC-SHA256")},
		{name: "no Signature", code: incomplete,
			msg: "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=" + testSigned,
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=" + testSigned)},
		{name: "no Credential", code: incomplete,
			msg: "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 SignedHeaders=" + testSigned,
			req: withAuth("AWS4-HMAC-SHA256 SignedHeaders=" + testSigned + ", Signature=SIG")},
		{name: "no SignedHeaders", code: incomplete,
			msg: "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=" + testCred,
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", Signature=SIG")},
		{name: "part not k=v", code: incomplete,
			msg: "Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '*",
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders, Signature=SIG")},
		{name: "trailing comma", code: incomplete,
			msg: "Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '*",
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=" + testSigned + ", Signature=SIG,")},
		{name: "duplicate part", code: incomplete, msg: "Authorization header has more than one 'Signature' parameter.",
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=" + testSigned + ", Signature=SIG, Signature=SIG")},
		{name: "unexpected part", code: incomplete, msg: "Authorization header has an unexpected parameter 'Foo'.",
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=" + testSigned + ", Signature=SIG, Foo=bar")},
		{name: "credential of 4 parts", code: incomplete, msg: badCred("AKIDEXAMPLE/20261126/us-east-1/tagging"),
			req: withAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/tagging, SignedHeaders=" + testSigned + ", Signature=SIG")},
		{name: "credential of 6 parts", code: incomplete, msg: badCred(testCred + "/x"),
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + "/x, SignedHeaders=" + testSigned + ", Signature=SIG")},
		{name: "credential with an empty part", code: incomplete, msg: badCred("AKIDEXAMPLE//us-east-1/tagging/aws4_request"),
			req: withAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE//us-east-1/tagging/aws4_request, SignedHeaders=" + testSigned + ", Signature=SIG")},
		{name: "upper-case signature", code: incomplete, msg: "Signature must be 64 lower-case hexadecimal digits.",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, body, sig := signedCall(t, permanent, testNow)
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), sig, strings.ToUpper(sig), 1))
				return r, body
			}},
		{name: "short signature", code: incomplete, msg: "Signature must be 64 lower-case hexadecimal digits.",
			req: func(t *testing.T) (*http.Request, []byte) {
				r, body, sig := signedCall(t, permanent, testNow)
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), sig, sig[:63], 1))
				return r, body
			}},
		{name: "unsorted signed headers", code: incomplete, msg: badSigned("host;content-type;x-amz-date;x-amz-target"),
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=host;content-type;x-amz-date;x-amz-target, Signature=SIG")},
		{name: "upper-case signed header", code: incomplete, msg: badSigned("Host;x-amz-date;x-amz-target"),
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=Host;x-amz-date;x-amz-target, Signature=SIG")},
		{name: "duplicate signed header", code: incomplete, msg: badSigned("host;host;x-amz-date;x-amz-target"),
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=host;host;x-amz-date;x-amz-target, Signature=SIG")},
		{name: "empty signed header", code: incomplete, msg: badSigned("host;;x-amz-date;x-amz-target"),
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=host;;x-amz-date;x-amz-target, Signature=SIG")},
		{name: "host not signed", code: incomplete, msg: mustSign("Host"),
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=content-type;x-amz-date;x-amz-target, Signature=SIG")},
		{name: "x-amz-date not signed", code: incomplete, msg: mustSign("X-Amz-Date"),
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + ", SignedHeaders=content-type;host;x-amz-target, Signature=SIG")},
		{name: "x-amz-target not signed", code: incomplete, msg: mustSign("X-Amz-Target"),
			req: func(t *testing.T) (*http.Request, []byte) {
				r := newRequest(t, testBody)
				permanent.sign(r, []byte(testBody), testNow, "content-type")
				return r, []byte(testBody)
			}},
		{name: "token not signed", code: incomplete, msg: mustSign("X-Amz-Security-Token"),
			req: signed(permanent, testNow, setHeader("X-Amz-Security-Token", testToken))},
		{name: "no X-Amz-Date", code: incomplete, msg: "Authorization header requires existence of a 'X-Amz-Date' header.",
			req: signed(permanent, testNow, func(r *http.Request, b []byte) []byte { r.Header.Del("X-Amz-Date"); return b })},
		{name: "two X-Amz-Date", code: incomplete, msg: "X-Amz-Date header must be sent only once.",
			req: signed(permanent, testNow, func(r *http.Request, b []byte) []byte { r.Header.Add("X-Amz-Date", "20261126T071500Z"); return b })},
		{name: "extended X-Amz-Date", code: incomplete, msg: badDate("2026-11-26T07:15:00Z"),
			req: signed(permanent, testNow, setHeader("X-Amz-Date", "2026-11-26T07:15:00Z"))},
		{name: "X-Amz-Date in month 13", code: incomplete, msg: badDate("20261326T071500Z"),
			req: signed(permanent, testNow, setHeader("X-Amz-Date", "20261326T071500Z"))},
		{name: "X-Amz-Date on February 30", code: incomplete, msg: badDate("20260230T071500Z"),
			req: signed(permanent, testNow, setHeader("X-Amz-Date", "20260230T071500Z"))},
		{name: "X-Amz-Date at 24:00", code: incomplete, msg: badDate("20261126T240000Z"),
			req: signed(permanent, testNow, setHeader("X-Amz-Date", "20261126T240000Z"))},
		{name: "X-Amz-Date with a sign", code: incomplete, msg: badDate("2026112+T071500Z"),
			req: signed(permanent, testNow, setHeader("X-Amz-Date", "2026112+T071500Z"))},
		{name: "other terminator", code: invalid, msg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_requests'.",
			req: withAuth("AWS4-HMAC-SHA256 Credential=" + testCred + "s, SignedHeaders=" + testSigned + ", Signature=SIG")},
		{name: "other service", code: invalid, msg: "Credential should be scoped to correct service: 'tagging'.",
			req: signed(other(permanent, func(s *testSigner) { s.service = "s3" }), testNow, nil)},
		{name: "invalid region", code: invalid, msg: "Credential should be scoped to a valid region, not 'US-EAST-1'.",
			req: signed(other(permanent, func(s *testSigner) { s.region = "US-EAST-1" }), testNow, nil)},
		{name: "region without number", code: invalid, msg: "Credential should be scoped to a valid region, not 'us-east'.",
			req: signed(other(permanent, func(s *testSigner) { s.region = "us-east" }), testNow, nil)},
		{name: "scope date", code: invalid,
			msg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261125' != '20261126', from '20261126T071500Z'.",
			req: withAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/tagging/aws4_request, SignedHeaders=" + testSigned + ", Signature=SIG")},
		{name: "unknown key", code: unrecognized, msg: invalidKeyMessage,
			req: signed(other(permanent, func(s *testSigner) { s.akid = "AKIDUNKNOWN" }), testNow, nil)},
		{name: "temporary key without token", code: unrecognized, msg: invalidKeyMessage,
			req: signed(other(temporary, func(s *testSigner) { s.token = "" }), testNow, nil)},
		{name: "temporary key with another token", code: unrecognized, msg: invalidKeyMessage,
			req: signed(other(temporary, func(s *testSigner) { s.token = testToken + "x" }), testNow, nil)},
		{name: "temporary key with a token prefix", code: unrecognized, msg: invalidKeyMessage,
			req: signed(other(temporary, func(s *testSigner) { s.token = testToken[:10] }), testNow, nil)},
		{name: "temporary key with two tokens", code: unrecognized, msg: invalidKeyMessage,
			req: signed(temporary, testNow, func(r *http.Request, b []byte) []byte { r.Header.Add("X-Amz-Security-Token", testToken); return b })},
		{name: "permanent key with a token", code: unrecognized, msg: invalidKeyMessage,
			req: signed(other(permanent, func(s *testSigner) { s.token = testToken }), testNow, nil)},
		{name: "expired key", code: codeExpiredToken, msg: "The security token included in the request is expired",
			req: signed(other(temporary, func(s *testSigner) { s.akid, s.secret = expiredAKID, expiredSecret }), testNow, nil)},
		{name: "expired key with another token", code: unrecognized, msg: invalidKeyMessage,
			req: signed(testSigner{akid: expiredAKID, secret: expiredSecret, token: "other", region: "us-east-1", service: "tagging"}, testNow, nil)},
		{name: "signature expired", code: invalid,
			msg: "Signature expired: 20261126T070000Z is now earlier than 20261126T071000Z (20261126T071500Z - 5 min.)",
			req: signed(permanent, testNow.Add(-15*time.Minute), nil)},
		{name: "signature expired by a second", code: invalid,
			msg: "Signature expired: 20261126T070959Z is now earlier than 20261126T071000Z (20261126T071500Z - 5 min.)",
			req: signed(permanent, testNow.Add(-5*time.Minute-time.Second), nil)},
		{name: "signature not yet current", code: invalid,
			msg: "Signature not yet current: 20261126T072100Z is still later than 20261126T072000Z (20261126T071500Z + 5 min.)",
			req: signed(permanent, testNow.Add(6*time.Minute), nil)},
		{name: "signature expired, 15 minutes", code: invalid, skew: 15 * time.Minute,
			msg: "Signature expired: 20261126T065900Z is now earlier than 20261126T070000Z (20261126T071500Z - 15 min.)",
			req: signed(permanent, testNow.Add(-16*time.Minute), nil)},
		{name: "signed header absent", code: invalid, msg: mismatchMessage,
			req: func(t *testing.T) (*http.Request, []byte) {
				r := newRequest(t, testBody)
				r.Header.Set("X-Extra", "1")
				permanent.sign(r, []byte(testBody), testNow, append(callHeaders, "x-extra")...)
				r.Header.Del("X-Extra")
				return r, []byte(testBody)
			}},
		{name: "content-length unknown", code: invalid, msg: mismatchMessage,
			req: signed(permanent, testNow, func(r *http.Request, b []byte) []byte {
				r.Header.Del("Content-Length")
				r.ContentLength = -1
				return b
			})},
		{name: "host absent", code: invalid, msg: mismatchMessage,
			req: signed(permanent, testNow, func(r *http.Request, b []byte) []byte { r.Host = ""; return b })},
		{name: "body changed", code: invalid, msg: mismatchMessage,
			req: signed(permanent, testNow, func(r *http.Request, b []byte) []byte { return append(b[:len(b):len(b)], ' ') })},
		{name: "signed header changed", code: invalid, msg: mismatchMessage,
			req: signed(permanent, testNow, setHeader("X-Amz-Target", "ResourceGroupsTaggingAPI_20170126.TagResources"))},
		{name: "method changed", code: invalid, msg: mismatchMessage,
			req: signed(permanent, testNow, func(r *http.Request, b []byte) []byte { r.Method = "PUT"; return b })},
		{name: "path changed", code: invalid, msg: mismatchMessage,
			req: signed(permanent, testNow, func(r *http.Request, b []byte) []byte { r.URL.Path = "/x"; return b })},
		{name: "query added", code: invalid, msg: mismatchMessage,
			req: signed(permanent, testNow, func(r *http.Request, b []byte) []byte { r.URL.RawQuery = "a=1"; return b })},
		{name: "undecodable query", code: invalid, msg: mismatchMessage,
			req: func(t *testing.T) (*http.Request, []byte) {
				r := parseRequest(t, "POST /?a=%25zz HTTP/1.1\r\nHost: h\r\nX-Amz-Target: T\r\n\r\n")
				permanent.sign(r, nil, testNow, "x-amz-target")
				r.URL.RawQuery = "a=%zz"
				return r, nil
			}},
		{name: "wrong secret", code: invalid, msg: mismatchMessage,
			req: signed(other(permanent, func(s *testSigner) { s.secret = "x" + testSecret }), testNow, nil)},
		{name: "UNSIGNED-PAYLOAD", code: invalid, msg: mismatchMessage,
			req: func(t *testing.T) (*http.Request, []byte) {
				r := newRequest(t, testBody)
				r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
				s := permanent
				s.payload = "UNSIGNED-PAYLOAD"
				s.sign(r, []byte(testBody), testNow, append(callHeaders, "x-amz-content-sha256")...)
				return r, []byte(testBody)
			}},
	}
}

func TestVerifyErrors(t *testing.T) {
	for _, c := range errorCases() {
		t.Run(c.name, func(t *testing.T) {
			r, body := c.req(t)
			v := testVerifier()
			v.MaxSkew = c.skew
			res, err := v.Verify(r, body, testNow)
			if err == nil {
				t.Fatalf("Verify = %+v, want %s", res, c.code)
			}
			if res != (Result{}) {
				t.Errorf("Verify returned %+v with an error", res)
			}
			if err.Code != c.code {
				t.Errorf("code = %s, want %s (%s)", err.Code, c.code, err.Message)
			}
			if prefix, ok := strings.CutSuffix(c.msg, "*"); ok && !strings.HasPrefix(err.Message, prefix) ||
				!ok && err.Message != c.msg {
				t.Errorf("message = %q\nwant      %q", err.Message, c.msg)
			}
			if err.Error() != err.Code+": "+err.Message {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

// hexRun matches anything that could be a signature or a signing key.
var hexRun = regexp.MustCompile(`[0-9a-f]{64}`)

func TestMessagesHideSecrets(t *testing.T) {
	secrets := []string{testSecret, tempSecret, expiredSecret, testToken, testToken[:16]}
	for _, c := range errorCases() {
		r, body := c.req(t)
		v := testVerifier()
		v.MaxSkew = c.skew
		_, err := v.Verify(r, body, testNow)
		if err == nil {
			t.Fatalf("%s: Verify accepted", c.name)
		}
		for _, s := range secrets {
			if strings.Contains(err.Message, s) {
				t.Errorf("%s: message %q contains %q", c.name, err.Message, s)
			}
		}
		// Neither the expected signature, nor the one sent, nor a key.
		if h := hexRun.FindString(err.Message); h != "" {
			t.Errorf("%s: message %q contains %q", c.name, err.Message, h)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	sig := strings.Repeat("0a", 32)
	scope, names, got, err := ParseAuthorization("AWS4-HMAC-SHA256 Credential=AKID/20261126/eu-west-3/tagging/aws4_request,SignedHeaders=host;x-amz-date;x-amz-target,  Signature=" + sig)
	if err != nil {
		t.Fatal(err)
	}
	want := Scope{AccessKeyID: "AKID", Date: "20261126", Region: "eu-west-3", Service: "tagging", Terminator: "aws4_request"}
	if scope != want || strings.Join(names, ",") != "host,x-amz-date,x-amz-target" || got != sig {
		t.Fatalf("ParseAuthorization = %+v, %q, %q", scope, names, got)
	}
	// The region is not checked, so callers can tell what was sent.
	scope, _, _, err = ParseAuthorization("AWS4-HMAC-SHA256 Credential=AKID/20261126/Mars/s3/x, SignedHeaders=host;x-amz-date, Signature=" + sig)
	if err != nil || scope.Region != "Mars" || scope.Service != "s3" || scope.Terminator != "x" {
		t.Fatalf("ParseAuthorization = %+v, %v", scope, err)
	}
	for h, code := range map[string]string{
		"":                 codeMissingToken,
		"AWS4-HMAC-SHA256": codeIncomplete,
		"AWS4-HMAC-SHA256 Credential=AKID/20261126/eu-west-3/tagging/aws4_request, SignedHeaders=host, Signature=" + sig: codeIncomplete,
	} {
		if _, _, _, err := ParseAuthorization(h); err == nil || err.Code != code {
			t.Errorf("ParseAuthorization(%q) error = %v, want %s", h, err, code)
		}
	}
}

func TestValidRegion(t *testing.T) {
	for _, s := range []string{"us-east-1", "us-gov-west-1", "cn-north-1", "eu-isoe-west-1", "us-isob-east-1",
		"ap-southeast-5", "il-central-1", "a-0", "us-east-12"} {
		if !ValidRegion(s) {
			t.Errorf("ValidRegion(%q) = false", s)
		}
	}
	for _, s := range []string{"", "us-east", "US-EAST-1", "us-east-1x", "1", "-1", "us--1", "us-east-", "us-1-east",
		"us_east_1", " us-east-1", "us-east-1 ", "us-east-1\n", "us-éast-1", strings.Repeat("a", 31) + "-1"} {
		if ValidRegion(s) {
			t.Errorf("ValidRegion(%q) = true", s)
		}
	}
}

func TestRotatedSecret(t *testing.T) {
	secret := testSecret
	v := testVerifier()
	v.Lookup = func(id string) (Credential, bool) { return Credential{Secret: secret}, id == testAKID }
	old, body, _ := signedCall(t, permanent, testNow)
	if _, err := v.Verify(old, body, testNow); err != nil {
		t.Fatal(err)
	}
	secret = "rotated/" + testSecret
	if _, err := v.Verify(old, body, testNow); err == nil || err.Message != mismatchMessage {
		t.Fatalf("Verify with the old secret after rotation: %v", err)
	}
	rotated, body, _ := signedCall(t, testSigner{akid: testAKID, secret: secret, region: "us-east-1", service: "tagging"}, testNow)
	if _, err := v.Verify(rotated, body, testNow); err != nil {
		t.Fatalf("Verify with the new secret: %v", err)
	}
}

func TestKeyCacheBound(t *testing.T) {
	v := testVerifier()
	for i := range 3 * hmacpool.MaxKeys {
		s := permanent
		s.region = fmt.Sprintf("region-%d", i)
		r, body, _ := signedCall(t, s, testNow)
		if _, err := v.Verify(r, body, testNow); err != nil {
			t.Fatal(err)
		}
		if n := v.keys.Len(); n > hmacpool.MaxKeys || n == 0 {
			t.Fatalf("%d keys cached", n)
		}
	}
}

func TestConcurrentVerify(t *testing.T) {
	v := testVerifier()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := permanent
				if g%2 == 1 {
					s = temporary
				}
				s.region = fmt.Sprintf("ap-south-%d", i%5)
				r, body, _ := signedCall(t, s, testNow)
				if _, err := v.Verify(r, body, testNow); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// maxVerifyAllocs bounds the allocations of a Verify call.
const maxVerifyAllocs = 4

func TestVerifyAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	for _, s := range []testSigner{permanent, temporary} {
		v := testVerifier()
		r, body, _ := signedCall(t, s, testNow)
		n := testing.AllocsPerRun(100, func() {
			if _, err := v.Verify(r, body, testNow); err != nil {
				t.Fatal(err)
			}
		})
		if n > maxVerifyAllocs {
			t.Errorf("Verify of a call signed with %s allocates %v times, want at most %d", s.akid, n, maxVerifyAllocs)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	// A call as aws-sdk-go-v2 sends it.
	body := `{"ResourceARNList":["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"],"Tags":{"env":"prod","team":"platform"}}`
	r := parseRequest(b, "POST / HTTP/1.1\r\nHost: tagging.us-east-1.amazonaws.com\r\n"+
		"Amz-Sdk-Invocation-Id: 6f2d8b8e-3c1a-4d6e-9c7b-2b1f0e9a8d7c\r\nAmz-Sdk-Request: attempt=1; max=3\r\n"+
		"Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: ResourceGroupsTaggingAPI_20170126.TagResources\r\n"+
		fmt.Sprintf("Content-Length: %d\r\n", len(body))+
		"User-Agent: aws-sdk-go-v2/1.41.10 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/resourcegroupstaggingapi#1.41.10\r\n\r\n"+body)
	permanent.sign(r, []byte(body), testNow, "amz-sdk-invocation-id", "amz-sdk-request", "content-length", "content-type", "x-amz-target")
	v := testVerifier()
	payload := []byte(body)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, payload, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSkewInWholeSeconds(t *testing.T) {
	r, body, _ := signedCall(t, permanent, testNow.Add(-5*time.Minute))
	if _, err := testVerifier().Verify(r, body, testNow.Add(900*time.Millisecond)); err != nil {
		t.Fatalf("Verify 5 minutes and 0.9 s later: %v", err)
	}
	_, err := testVerifier().Verify(r, body, testNow.Add(time.Second))
	const want = "Signature expired: 20261126T071000Z is now earlier than 20261126T071001Z (20261126T071501Z - 5 min.)"
	if err == nil || err.Message != want {
		t.Fatalf("Verify 5 minutes and 1 s later: %v, want %q", err, want)
	}
}
