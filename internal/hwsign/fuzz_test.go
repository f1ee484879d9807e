package hwsign

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// fuzzRequest builds a request from loose parts; headers holds "Name:value"
// lines.
func fuzzRequest(method, auth, date, headers, path, query, host string) *http.Request {
	r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Host: host, Header: http.Header{}}
	for line := range strings.SplitSeq(headers, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			r.Header.Add(k, v)
		}
	}
	if auth != "" {
		r.Header.Add("Authorization", auth)
	}
	if date != "" {
		r.Header.Add("X-Sdk-Date", date)
	}
	return r
}

// headerLines renders the headers of r other than Authorization and
// X-Sdk-Date as fuzzRequest reads them.
func headerLines(r *http.Request) string {
	var lines []string
	for k, vs := range r.Header {
		if k == "Authorization" || k == "X-Sdk-Date" {
			continue
		}
		for _, v := range vs {
			lines = append(lines, k+":"+v)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// authPart returns the value of part name in the Authorization value auth.
func authPart(auth, name string) string {
	_, parts, _ := strings.Cut(auth, " ")
	for p := range strings.SplitSeq(parts, ",") {
		if k, v, _ := strings.Cut(strings.TrimSpace(p), "="); k == name {
			return v
		}
	}
	return ""
}

// FuzzVerify feeds Verify arbitrary requests. It must not panic, must explain
// every refusal, and may accept only what the reference signer signed. The
// query canonicalization is also checked against url.ParseQuery.
func FuzzVerify(f *testing.F) {
	for _, temporary := range []bool{false, true} {
		for _, tc := range append([]refusal{{name: "valid", change: func(*fixture) {}}}, refusals...) {
			fx := newFixture(temporary || tc.temporary)
			tc.change(fx)
			if tc.resign {
				fx.resign()
			}
			r := fx.r
			f.Add(r.Method, r.Header.Get("Authorization"), r.Header.Get("X-Sdk-Date"), headerLines(r), r.URL.Path, r.URL.RawQuery, r.Host, fx.body)
		}
	}
	f.Add("GET", "SDK-HMAC-SHA256 Access=a,SignedHeaders=host;x-sdk-date,Signature=", "20260102T030405Z", "", "", "a=%", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, auth, date, headers, path, query, host string, body []byte) {
		r := fuzzRequest(method, auth, date, headers, path, query, host)
		v := &Verifier{Lookup: testLookup}
		res, err := v.Verify(r, body, testNow)
		if err != nil {
			if err.Message == "" {
				t.Fatal("an Error without a message")
			}
			if res != (Result{}) {
				t.Fatalf("a refusal with a Result: %+v", res)
			}
		} else {
			cred, _ := testLookup(res.AccessKey)
			sts := refStringToSign(r, body, authPart(auth, "SignedHeaders"))
			if want := refSignature(cred.SecretKey, sts); authPart(auth, "Signature") != want {
				t.Fatalf("accepted %q, whose signature should be %s", auth, want)
			}
		}

		got, qerr := appendCanonicalQuery(nil, query)
		_, perr := url.ParseQuery(query)
		if (qerr == nil) != (perr == nil) {
			t.Fatalf("query %q: canonicalization error %v, url.ParseQuery error %v", query, qerr, perr)
		}
		if qerr == nil {
			if want := refQuery(t, query); string(got) != want {
				t.Fatalf("query %q: canonical %q, want %q", query, got, want)
			}
		}
	})
}

// Parts of a signed request that FuzzTamper changes.
const (
	tamperBody = iota
	tamperHeader
	tamperPathSegment
	tamperQueryValue
	tamperDate
	tamperKinds
)

// FuzzTamper changes one signed part of a validly signed request. Verify must
// refuse it whenever the string to sign changed, and accept it otherwise
// (for example when a header value only gained surrounding spaces).
func FuzzTamper(f *testing.F) {
	for kind := range uint8(tamperKinds) {
		for i, value := range []string{"", "x", " ", "ключ", "a/b", "%2F", "create", "20", "abc+/= x", "20260102T030406Z", "\n", "d-1 "} {
			f.Add(i%2 == 0, i%3 == 0, kind, uint16(i), value, byte(i))
		}
	}
	f.Fuzz(func(t *testing.T, temporary, host bool, kind uint8, index uint16, value string, b byte) {
		fx := newFixture(temporary)
		fx.host = host
		fx.resign()
		sh := signedHeadersOf(fx.r)
		before := refStringToSign(fx.r, fx.body, sh)
		if _, err := fx.verify(); err != nil {
			t.Fatalf("the fixture does not verify: %v", err)
		}
		token := fx.r.Header.Get("X-Security-Token")

		i := int(index)
		switch kind % tamperKinds {
		case tamperBody:
			fx.body[i%len(fx.body)] = b
		case tamperHeader:
			names := strings.Split(sh, ";")
			if name := names[i%len(names)]; name == "host" {
				fx.r.Host = value
			} else {
				fx.r.Header.Set(name, value)
			}
		case tamperPathSegment:
			segs := strings.Split(fx.r.URL.Path, "/")
			segs[i%len(segs)] = value
			fx.r.URL.Path = strings.Join(segs, "/")
		case tamperQueryValue:
			q := fx.r.URL.Query()
			keys := slices.Sorted(maps.Keys(q))
			k := keys[i%len(keys)]
			q[k][i/len(keys)%len(q[k])] = value
			fx.r.URL.RawQuery = q.Encode()
		case tamperDate:
			if b%2 == 0 {
				fx.r.Header.Set("X-Sdk-Date", value)
			} else {
				fx.r.Header.Set("X-Sdk-Date", testNow.Add(time.Duration(int16(index))*time.Second).Format(DateLayout))
			}
		}

		after := refStringToSign(fx.r, fx.body, sh)
		_, err := fx.verify()
		switch {
		case after != before && err == nil:
			t.Fatalf("accepted a request whose string to sign changed from\n%q\nto\n%q", before, after)
		case after == before && fx.r.Header.Get("X-Security-Token") == token && err != nil:
			t.Fatalf("refused a request whose string to sign did not change: %v", err)
		}
	})
}
