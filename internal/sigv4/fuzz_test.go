package sigv4

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// codes are the codes an Error may carry.
var codes = []string{codeMissingToken, codeIncomplete, codeUnrecognized, codeInvalid, codeExpiredToken}

// FuzzVerify feeds Verify arbitrary headers, paths and bodies. It must not
// panic, must name every failure, must not repeat a secret that the request
// did not carry, and may accept only what the test signer would sign alike.
func FuzzVerify(f *testing.F) {
	r, body, _ := signedCall(f, permanent, testNow)
	f.Add(r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"), "Content-Type", "application/x-amz-json-1.1", "/", "", body)
	r, body, _ = signedCall(f, temporary, testNow)
	f.Add(r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"), "X-Amz-Security-Token", "token", "/a%20b", "a=1&b", body)
	f.Add("AWS4-HMAC-SHA256 Credential=A/B/C/D/E, SignedHeaders=host, Signature=", "20261126T071500Z", "", "", "", "", []byte(nil))
	f.Add("AWS4-HMAC-SHA256 SignedHeaders=,,, Signature=x", "x", "Expect", "", "%zz", "%zz", []byte{0})
	f.Add("", "", "Authorization", "Bearer x", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, authz, amzDate, name, value, path, query string, body []byte) {
		r := &http.Request{
			Method:        "POST",
			URL:           &url.URL{Path: path, RawQuery: query},
			Host:          testHost,
			ContentLength: int64(len(body)),
			Header: http.Header{
				"Authorization": {authz},
				"X-Amz-Date":    {amzDate},
				"X-Amz-Target":  {testTarget},
			},
		}
		r.Header[name] = append(r.Header[name], value)
		v := testVerifier()
		res, err := v.Verify(r, body, testNow)
		if err != nil {
			if !slices.Contains(codes, err.Code) || err.Message == "" {
				t.Fatalf("Verify error %#v", err)
			}
			echoed := strings.Join(r.Header["Authorization"], " ") + strings.Join(r.Header["X-Amz-Date"], " ")
			for _, s := range []string{testSecret, tempSecret, expiredSecret, testToken} {
				if strings.Contains(err.Message, s) && !strings.Contains(echoed, s) {
					t.Fatalf("message %q contains %q", err.Message, s)
				}
			}
			return
		}
		// Accepted: the test signer must compute the signature sent.
		scope, names, sig, perr := ParseAuthorization(r.Header["Authorization"][0])
		if perr != nil {
			t.Fatalf("Verify accepted what ParseAuthorization refuses: %v", perr)
		}
		cred, _ := v.Lookup(scope.AccessKeyID)
		s := testSigner{secret: cred.Secret}
		amzDate = r.Header["X-Amz-Date"][0]
		scopeString := scope.Date + "/" + scope.Region + "/" + scope.Service + "/" + scope.Terminator
		if want := s.signature(amzDate, scopeString, testCanonicalRequest(r, body, names)); want != sig {
			t.Fatalf("Verify accepted signature %s, want %s (result %+v)", sig, want, res)
		}
	})
}

// FuzzTamper changes one signed part of a validly signed call. Verify must
// refuse the call whenever the change reaches the canonical request, and
// accept it otherwise (for example when only whitespace that
// canonicalization removes changed).
func FuzzTamper(f *testing.F) {
	for kind := range uint8(mutations) {
		f.Add(kind, uint16(3), "x", false)
		f.Add(kind, uint16(0), "", true)
	}
	f.Add(uint8(2), uint16(1), " "+testTarget+" ", false)
	f.Add(uint8(3), uint16(0), "/", false)
	f.Add(uint8(3), uint16(0), "", false)
	f.Add(uint8(4), uint16(0), "20261126T071501Z", false)
	f.Add(uint8(5), uint16(0), testHost+"\t", false)
	f.Add(uint8(6), uint16(0), "a=%zz", false)
	f.Fuzz(func(t *testing.T, kind uint8, pos uint16, data string, token bool) {
		s := permanent
		if token {
			s = temporary
		}
		r, body, sig := signedCall(t, s, testNow)
		names := signedNames(r)
		before := testCanonicalRequest(r, body, names)
		body = mutate(r, body, kind, int(pos), data)
		changed := testCanonicalRequest(r, body, names) != before
		_, err := testVerifier().Verify(r, body, testNow)
		switch {
		case changed && err == nil:
			t.Fatalf("Verify accepted a changed call (mutation %d, %q)", kind%mutations, data)
		case !changed && err != nil:
			t.Fatalf("Verify refused a call whose canonical request did not change (mutation %d, %q): %v", kind%mutations, data, err)
		case err != nil:
			for _, secret := range []string{s.secret, testToken, sig} {
				if strings.Contains(err.Message, secret) {
					t.Fatalf("message %q contains %q", err.Message, secret)
				}
			}
		}
	})
}

// mutations is the number of kinds of change mutate makes.
const mutations = 8

// mutate changes one signed part of r or body, chosen by kind, at pos with
// data, and returns the body. Header values and the host are set the way
// net/http's server would deliver them: trimmed, without control bytes.
func mutate(r *http.Request, body []byte, kind uint8, pos int, data string) []byte {
	header := func(s string) string {
		s = strings.Trim(s, " \t")
		return strings.Map(func(c rune) rune {
			if c < ' ' && c != '\t' || c == 0x7f {
				return -1
			}
			return c
		}, s)
	}
	switch kind % mutations {
	case 0: // a body byte
		x := byte(1)
		if data != "" && data[0] != 0 {
			x = data[0]
		}
		body = slices.Clone(body)
		body[pos%len(body)] ^= x
	case 1: // bytes into the body
		i := pos % (len(body) + 1)
		body = slices.Concat(body[:i], []byte(data), body[i:])
	case 2: // a signed header value
		names := []string{"Content-Type", "X-Amz-Target", "Content-Length"}
		r.Header.Set(names[pos%len(names)], header(data))
	case 3: // the path
		r.URL.Path, r.URL.RawPath = data, ""
	case 4: // the date
		r.Header.Set("X-Amz-Date", header(data))
	case 5: // the host
		r.Host = header(data)
	case 6: // the query
		r.URL.RawQuery = data
	case 7: // the method
		r.Method = data
	}
	return body
}
