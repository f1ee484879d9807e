package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tagway/tagway/internal/sigv4"
)

// The credentials of the oracle test.
const (
	oracleKey       = "AKIDORACLE"
	oracleSecret    = "oRACLEsecret/K7MDENG+bPxRfiCYEXAMPLEKEY"
	oracleTempKey   = "ASIAORACLE"
	oracleTempToken = "IQoJb3JpZ2luX2VjEORACLE//+=token"
	oracleRequests  = 400
)

var oracleRegions = []string{"us-east-1", "eu-west-3", "us-gov-west-1", "cn-north-1", "eu-isoe-west-1", "ap-southeast-5"}

// TestSigV4Oracle signs random requests with aws-sdk-go-v2's own signer and
// checks that sigv4.Verify accepts each one as net/http's server hands it
// to a handler, and refuses it once a byte of the body, of a signed header,
// of the path or the method changes.
func TestSigV4Oracle(t *testing.T) {
	v := &sigv4.Verifier{
		Service:  "tagging",
		Required: []string{"x-amz-target"},
		Lookup: func(id string) (sigv4.Credential, bool) {
			switch id {
			case oracleKey:
				return sigv4.Credential{Secret: oracleSecret}, true
			case oracleTempKey:
				return sigv4.Credential{Secret: oracleSecret, SessionToken: oracleTempToken, Expires: time.Now().Add(time.Hour)}, true
			}
			return sigv4.Credential{}, false
		},
	}
	results := make(chan []string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			results <- []string{err.Error()}
		} else {
			results <- checkOracleRequest(v, r, body)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	signer := v4.NewSigner()
	for i := range oracleRequests {
		req, payloadHash, desc := randomOracleRequest(t, rng, srv.URL)
		creds := aws.Credentials{AccessKeyID: oracleKey, SecretAccessKey: oracleSecret}
		if rng.IntN(2) == 0 {
			creds.AccessKeyID, creds.SessionToken = oracleTempKey, oracleTempToken
		}
		signedAt := time.Now().Add(time.Duration(rng.IntN(8*60)-4*60) * time.Second)
		regionName := oracleRegions[rng.IntN(len(oracleRegions))]
		if err := signer.SignHTTP(context.Background(), creds, req, payloadHash, "tagging", regionName, signedAt); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("request %d (%s): %v", i, desc, err)
		}
		resp.Body.Close()
		for _, f := range <-results {
			t.Errorf("request %d (%s, key %s, region %s): %s\nAuthorization: %s", i, desc, creds.AccessKeyID, regionName, f, req.Header.Get("Authorization"))
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// checkOracleRequest verifies r with body as received, then copies of it
// with one signed byte changed, and returns what went wrong.
func checkOracleRequest(v *sigv4.Verifier, r *http.Request, body []byte) []string {
	now := time.Now()
	res, err := v.Verify(r, body, now)
	if err != nil {
		return []string{"refused: " + err.Error()}
	}
	scope, signed, _, _ := sigv4.ParseAuthorization(r.Header.Get("Authorization"))
	if res.Region != scope.Region || res.AccessKeyID != scope.AccessKeyID {
		return []string{fmt.Sprintf("result %+v does not match scope %+v", res, scope)}
	}
	var failures []string
	refused := func(what string, r *http.Request, body []byte) {
		if _, err := v.Verify(r, body, now); err == nil {
			failures = append(failures, "accepted after changing "+what)
		}
	}
	for i := 0; i < len(body); i += max(1, len(body)/16) {
		changed := bytes.Clone(body)
		changed[i] ^= 0x20
		refused(fmt.Sprintf("body byte %d", i), r, changed)
	}
	if len(body) > 0 {
		refused("the body's length", r, body[:len(body)-1])
	}
	for _, name := range signed {
		c := r.Clone(r.Context())
		switch name {
		case "host":
			c.Host = changeByte(c.Host)
		default:
			key := http.CanonicalHeaderKey(name)
			vals := c.Header[key]
			if len(vals) == 0 {
				failures = append(failures, "signed header "+name+" is missing")
				continue
			}
			vals[len(vals)-1] = changeByte(vals[len(vals)-1])
		}
		refused("signed header "+name, c, body)
	}
	c := r.Clone(r.Context())
	c.URL.Path, c.URL.RawPath = c.URL.Path+"x", ""
	refused("the path", c, body)
	c = r.Clone(r.Context())
	c.Method = "PUT"
	refused("the method", c, body)
	return failures
}

// changeByte replaces the middle byte of s by another non-blank one, or
// appends one to an empty s.
func changeByte(s string) string {
	if s == "" {
		return "Z"
	}
	i := len(s) / 2
	c := byte('Z')
	if s[i] == c {
		c = 'Y'
	}
	return s[:i] + string(c) + s[i+1:]
}

// randomOracleRequest returns an unsigned client request to base with a
// random method, path, query, headers and body, the hex SHA-256 of its body
// and a short description.
func randomOracleRequest(t *testing.T, rng *rand.Rand, base string) (*http.Request, string, string) {
	t.Helper()
	const pathChars = "abcXYZ019-._~ %+=;,@!$&'()*:ü€/"
	path := "/"
	if rng.IntN(4) > 0 {
		for range 1 + rng.IntN(3) {
			path += randomString(rng, pathChars, 1+rng.IntN(8)) + "/"
		}
		if rng.IntN(2) == 0 {
			path = strings.TrimSuffix(path, "/")
		}
	}
	query := url.Values{}
	for range rng.IntN(4) {
		query.Add(randomString(rng, "abAB-_~. %/+=&ü", 1+rng.IntN(4)), randomString(rng, "xyXY09 %/+=&ü~", rng.IntN(6)))
	}
	method, body := "POST", randomBytes(rng, rng.IntN(2048))
	if rng.IntN(4) == 0 {
		method, body = "GET", nil
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path, u.RawQuery = path, query.Encode()
	req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Path, req.URL.RawPath = path, ""
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "ResourceGroupsTaggingAPI_20170126.GetResources")
	req.Header.Set("User-Agent", "oracle")
	// Header values: printable ASCII and UTF-8, with runs of spaces and
	// outer spaces; no tabs, which the SDK does not collapse.
	const valueChars = "aZ09 -_.;:,=/\"'()ü  "
	for i := range rng.IntN(5) {
		name := fmt.Sprintf("X-Oracle-%d", i)
		if rng.IntN(3) == 0 {
			name = strings.ToLower(name) // sent as is, canonicalized by the server
		}
		for range 1 + rng.IntN(2) {
			req.Header[name] = append(req.Header[name], randomString(rng, valueChars, rng.IntN(12)))
		}
	}
	sum := sha256.Sum256(body)
	return req, hex.EncodeToString(sum[:]), fmt.Sprintf("%s %s?%s, %d headers, %d body bytes", method, path, query.Encode(), len(req.Header), len(body))
}

func randomString(rng *rand.Rand, chars string, n int) string {
	runes := []rune(chars)
	var b strings.Builder
	for range n {
		b.WriteRune(runes[rng.IntN(len(runes))])
	}
	return b.String()
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
