package hwsign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// This file is a deliberately plain second rendering of the signing rules
// (spec §4.3), written with the obvious library calls, that the tests use to
// sign requests and to predict whether a changed request still verifies. The
// e2e oracle test checks both against the SDK's own signer.

// refEscape escapes s as the SDK does.
func refEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~.", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// refCanonical returns the canonical request of r with body under signedHeaders.
func refCanonical(r *http.Request, body []byte, signedHeaders string) string {
	var segs []string
	for _, s := range strings.Split(r.URL.Path, "/") {
		segs = append(segs, refEscape(s))
	}
	uri := strings.Join(segs, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}

	q := r.URL.Query()
	var keys []string
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			pairs = append(pairs, refEscape(k)+"="+refEscape(v))
		}
	}

	var headers []string
	for _, name := range strings.Split(signedHeaders, ";") {
		var vs []string
		if name == "host" {
			vs = []string{r.Host}
		} else {
			vs = append(vs, r.Header.Values(name)...)
		}
		sort.Strings(vs)
		for _, v := range vs {
			headers = append(headers, name+":"+strings.TrimSpace(v))
		}
	}

	payload := r.Header.Get("X-Sdk-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	return strings.Join([]string{r.Method, uri, strings.Join(pairs, "&"), strings.Join(headers, "\n") + "\n", signedHeaders, payload}, "\n")
}

// refStringToSign returns the string to sign of r with body.
func refStringToSign(r *http.Request, body []byte, signedHeaders string) string {
	sum := sha256.Sum256([]byte(refCanonical(r, body, signedHeaders)))
	return "SDK-HMAC-SHA256\n" + r.Header.Get("X-Sdk-Date") + "\n" + hex.EncodeToString(sum[:])
}

// refSignature returns the hex HMAC-SHA256 of sts under sk.
func refSignature(sk, sts string) string {
	m := hmac.New(sha256.New, []byte(sk))
	m.Write([]byte(sts))
	return hex.EncodeToString(m.Sum(nil))
}

// sign signs r with body as the SDK would for ak and sk: it signs every
// header on r except Content-Type and names with "_" (plus host when
// withHost), and sets Authorization. r must already carry X-Sdk-Date.
func sign(r *http.Request, body []byte, ak, sk string, withHost bool) (signature string) {
	var names []string
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "content-type") || strings.Contains(lk, "_") || lk == "authorization" {
			continue
		}
		names = append(names, lk)
	}
	if withHost {
		names = append(names, "host")
	}
	sort.Strings(names)
	sh := strings.Join(names, ";")
	signature = refSignature(sk, refStringToSign(r, body, sh))
	r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access="+ak+", SignedHeaders="+sh+", Signature="+signature)
	return signature
}

// signedHeadersOf returns the SignedHeaders value of r's Authorization header.
func signedHeadersOf(r *http.Request) string {
	_, after, _ := strings.Cut(r.Header.Get("Authorization"), "SignedHeaders=")
	sh, _, _ := strings.Cut(after, ",")
	return sh
}
