package sigv4

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The credentials the test verifier knows.
const (
	testAKID      = "AKIDEXAMPLE"
	testSecret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	tempAKID      = "ASIAEXAMPLE"
	tempSecret    = "tEMPsECRETexample/K7MDENG+bPxRfiCYTEMPKEY"
	testToken     = "FQoGZXIvYXdzEXAMPLETOKEN//+=SESSION"
	expiredAKID   = "ASIAEXPIRED"
	expiredSecret = "eXPIREDsecret/K7MDENG+bPxRfiCYEXPIREDKEY"
	testHost      = "tagging.us-east-1.amazonaws.com"
	testTarget    = "ResourceGroupsTaggingAPI_20170126.GetResources"
	testBody      = `{"ResourcesPerPage":50,"TagFilters":[{"Key":"env","Values":["prod"]}]}`
)

// testNow is the verifier's clock in the tests.
var testNow = time.Date(2026, 11, 26, 7, 15, 0, 0, time.UTC)

// testVerifier returns a verifier for "tagging" that requires x-amz-target
// and knows a permanent key, a temporary one and an expired one.
func testVerifier() *Verifier {
	return &Verifier{
		Service:  "tagging",
		Required: []string{"x-amz-target"},
		Lookup: func(id string) (Credential, bool) {
			switch id {
			case testAKID:
				return Credential{Secret: testSecret}, true
			case tempAKID:
				return Credential{Secret: tempSecret, SessionToken: testToken, Expires: testNow.Add(time.Hour)}, true
			case expiredAKID:
				return Credential{Secret: expiredSecret, SessionToken: testToken, Expires: testNow.Add(-time.Second)}, true
			}
			return Credential{}, false
		},
	}
}

// testSigner signs requests. It follows the SigV4 documentation with code
// of its own (regexp, url.ParseQuery, strings.Builder), so that it does not
// share the verifier's mistakes; the SDK oracle test in e2e checks both
// against aws-sdk-go-v2.
type testSigner struct {
	akid, secret, token, region, service string
	// payload replaces the body's hash in the canonical request when set,
	// as for UNSIGNED-PAYLOAD.
	payload string
}

var (
	permanent = testSigner{akid: testAKID, secret: testSecret, region: "us-east-1", service: "tagging"}
	temporary = testSigner{akid: tempAKID, secret: tempSecret, token: testToken, region: "us-east-1", service: "tagging"}
)

// sign sets X-Amz-Date (and X-Amz-Security-Token) and the Authorization
// header of r, signing host, x-amz-date, the token and the headers in
// extra. It returns the signature.
func (s testSigner) sign(r *http.Request, body []byte, t time.Time, extra ...string) string {
	amzDate := t.UTC().Format("20060102T150405Z")
	r.Header.Set("X-Amz-Date", amzDate)
	names := append([]string{"host", "x-amz-date"}, extra...)
	if s.token != "" {
		r.Header.Set("X-Amz-Security-Token", s.token)
		names = append(names, "x-amz-security-token")
	}
	sort.Strings(names)
	scope := amzDate[:8] + "/" + s.region + "/" + s.service + "/aws4_request"
	canonical := testCanonicalRequest(r, body, names)
	if s.payload != "" {
		canonical = canonical[:len(canonical)-2*sha256.Size] + s.payload
	}
	sig := s.signature(amzDate, scope, canonical)
	r.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		s.akid, scope, strings.Join(names, ";"), sig))
	return sig
}

// signature returns the signature of a canonical request.
func (s testSigner) signature(amzDate, scope, canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
	key := []byte("AWS4" + s.secret)
	for _, part := range strings.Split(scope, "/") {
		key = testMAC(key, part)
	}
	return hex.EncodeToString(testMAC(key, sts))
}

func testMAC(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, data)
	return m.Sum(nil)
}

var blanks = regexp.MustCompile(`[ \t]+`)

// testCanonicalRequest returns the canonical request of r for the signed
// header names.
func testCanonicalRequest(r *http.Request, body []byte, names []string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	const keep = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/"
	for _, c := range []byte(path) {
		if strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	b.WriteString("\n")
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "undecodable query"
	}
	var params [][2]string
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	for k, vs := range q {
		for _, v := range vs {
			params = append(params, [2]string{esc(k), esc(v)})
		}
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i][0] != params[j][0] {
			return params[i][0] < params[j][0]
		}
		return params[i][1] < params[j][1]
	})
	for i, p := range params {
		if i > 0 {
			b.WriteString("&")
		}
		b.WriteString(p[0] + "=" + p[1])
	}
	b.WriteString("\n")
	for _, n := range names {
		var vs []string
		switch {
		case n == "host":
			vs = []string{r.Host}
		case len(r.Header.Values(n)) > 0:
			vs = r.Header.Values(n)
		case n == "content-length" && r.ContentLength >= 0:
			vs = []string{strconv.FormatInt(r.ContentLength, 10)}
		case n == "transfer-encoding":
			vs = r.TransferEncoding
		case n == "expect":
			vs = []string{"100-continue"}
		}
		clean := make([]string, len(vs))
		for i, v := range vs {
			clean[i] = blanks.ReplaceAllString(strings.Trim(v, " \t"), " ")
		}
		b.WriteString(n + ":" + strings.Join(clean, ",") + "\n")
	}
	b.WriteString("\n" + strings.Join(names, ";") + "\n")
	h := sha256.Sum256(body)
	b.WriteString(hex.EncodeToString(h[:]))
	return b.String()
}

// parseRequest returns raw, an HTTP/1.1 request, as net/http's server
// hands it to a handler, except that reading its body fails the test:
// Verify must not read it.
func parseRequest(tb testing.TB, raw string) *http.Request {
	tb.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		tb.Fatalf("parsing %q: %v", raw, err)
	}
	r.Body = unreadable{tb}
	return r
}

type unreadable struct{ tb testing.TB }

func (u unreadable) Read([]byte) (int, error) {
	u.tb.Error("Verify read the request body")
	return 0, io.EOF
}

func (unreadable) Close() error { return nil }

// newRequest returns a tagging API call with body, not signed.
func newRequest(tb testing.TB, body string) *http.Request {
	tb.Helper()
	return parseRequest(tb, "POST / HTTP/1.1\r\nHost: "+testHost+"\r\n"+
		"Content-Type: application/x-amz-json-1.1\r\n"+
		"X-Amz-Target: "+testTarget+"\r\n"+
		"Content-Length: "+strconv.Itoa(len(body))+"\r\n"+
		"User-Agent: test\r\n\r\n"+body)
}

// callHeaders are the headers a signed test call signs besides host,
// x-amz-date and the token.
var callHeaders = []string{"content-length", "content-type", "x-amz-target"}

// signedCall returns a tagging API call signed by s at t, its body and its
// signature.
func signedCall(tb testing.TB, s testSigner, t time.Time) (*http.Request, []byte, string) {
	tb.Helper()
	r := newRequest(tb, testBody)
	sig := s.sign(r, []byte(testBody), t, callHeaders...)
	return r, []byte(testBody), sig
}

// signedNames returns the SignedHeaders list of r's Authorization header.
func signedNames(r *http.Request) []string {
	_, names, _, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil
	}
	return names
}
