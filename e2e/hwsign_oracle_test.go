package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/global"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	org "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"

	"github.com/tagway/tagway/internal/hwsign"
)

// Keys the oracle server knows: one permanent, one temporary.
const (
	hwPermAK  = "HPUAORACLEPERM"
	hwPermSK  = "oracle-perm-secret/+="
	hwTempAK  = "HPUAORACLETEMP"
	hwTempSK  = "oracle-temp-secret"
	hwTempTok = "oracle-token-ключ=="
)

func hwOracleVerifier() *hwsign.Verifier {
	return &hwsign.Verifier{Lookup: func(ak string) (hwsign.Credential, bool) {
		switch ak {
		case hwPermAK:
			return hwsign.Credential{SecretKey: hwPermSK}, true
		case hwTempAK:
			return hwsign.Credential{SecretKey: hwTempSK, SecurityToken: hwTempTok}, true
		}
		return hwsign.Credential{}, false
	}}
}

// hwVerifyHandler verifies each request at now(). A request that verifies is
// then changed, on the server side, in each signed part: one body byte at a
// time, each signed header, the path, the query and the method; every change
// must be refused. It answers 200 with an empty body and the verified access
// key in X-Verified-Access-Key, 401 APIGW.0301 when the request does not
// verify, and 500 listing the changes that were not refused.
func hwVerifyHandler(v *hwsign.Verifier, now func() time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		at := now()
		res, e := v.Verify(r, body, at)
		if e != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Request-Id", "0123456789abcdef0123456789abcdef")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"error_code": "APIGW.0301",
				"error_msg":  "Incorrect IAM authentication information: " + e.Message,
				"request_id": "0123456789abcdef0123456789abcdef",
			})
			return
		}

		var accepted []string
		refuse := func(what string, r *http.Request, body []byte) {
			if _, e := v.Verify(r, body, at); e == nil {
				accepted = append(accepted, what)
			}
		}
		for i := range body {
			changed := bytes.Clone(body)
			changed[i] ^= 0x01
			refuse(fmt.Sprintf("body byte %d", i), r, changed)
		}
		refuse("a byte appended to the body", r, append(bytes.Clone(body), ' '))
		_, after, _ := strings.Cut(r.Header.Get("Authorization"), "SignedHeaders=")
		signedHeaders, _, _ := strings.Cut(after, ",")
		for _, name := range strings.Split(signedHeaders, ";") {
			c := r.Clone(r.Context())
			if name == "host" {
				c.Host += "x"
			} else {
				c.Header.Set(name, c.Header.Get(name)+"x")
			}
			refuse("signed header "+name, c, body)
		}
		c := r.Clone(r.Context())
		c.URL.Path += "x"
		refuse("the path", c, body)
		c = r.Clone(r.Context())
		c.URL.RawQuery += "&x=1"
		refuse("the query", c, body)
		c = r.Clone(r.Context())
		c.Method += "X"
		refuse("the method", c, body)

		if len(accepted) != 0 {
			http.Error(w, "changes that still verify: "+strings.Join(accepted, ", "), http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Verified-Access-Key", res.AccessKey)
		w.WriteHeader(http.StatusOK)
	}
}

// hwRandomString returns up to n characters drawn from an alphabet of ASCII,
// URL-special characters and non-ASCII letters.
func hwRandomString(rng *rand.Rand, n int) string {
	alphabet := []rune("abcXYZ019-_.~ +/=%:;,&?#@!$'()*[]ключ环境üé")
	var b strings.Builder
	for range rng.IntN(n + 1) {
		b.WriteRune(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

// hwOracleCase is one request for the SDK signer.
type hwOracleCase struct {
	method  string
	path    string
	query   map[string]any
	headers map[string]string
	body    any
	date    time.Time
	ak, sk  string
}

func hwRandomCase(rng *rand.Rand, base time.Time) hwOracleCase {
	types := []string{"organizations:ous", "organizations:accounts", "organizations:roots", "organizations:policies"}
	id := "ou-" + hwRandomString(rng, 12)
	typ := types[rng.IntN(len(types))]
	paths := []struct{ method, path string }{
		{"POST", "/v1/organizations/" + typ + "/resource-instances/filter"},
		{"POST", "/v1/organizations/" + typ + "/resource-instances/count"},
		{"GET", "/v1/organizations/" + typ + "/tags"},
		{"POST", "/v1/organizations/" + typ + "/" + id + "/tags/create"},
		{"POST", "/v1/organizations/" + typ + "/" + id + "/tags/delete"},
		{"GET", "/v1/organizations/" + typ + "/" + id + "/tags"},
		{"GET", "/v1/organizations/resources/" + id + "/tags"},
		{"POST", "/v1/organizations/resources/" + id + "/tag"},
		{"POST", "/v1/organizations/resources/" + id + "/untag"},
		{"DELETE", "/v1/organizations/resources/" + id + "/tags/" + hwRandomString(rng, 6)},
	}
	p := paths[rng.IntN(len(paths))]
	c := hwOracleCase{
		method:  p.method,
		path:    p.path,
		query:   map[string]any{},
		headers: map[string]string{"User-Agent": "huaweicloud-usdk-go/3.0; os/linux; go/1.26; app/" + hwRandomString(rng, 8), "Content-Type": "application/json"},
		date:    base.Add(time.Duration(rng.IntN(28*60)-14*60) * time.Second),
		ak:      hwPermAK,
		sk:      hwPermSK,
	}
	if rng.IntN(2) == 0 {
		c.query["limit"] = int32(rng.IntN(1000))
	}
	if rng.IntN(2) == 0 {
		c.query["marker"] = hwRandomString(rng, 10) + "+/="
	}
	if rng.IntN(3) == 0 {
		c.query["offset"] = fmt.Sprint(rng.IntN(100))
	}
	if rng.IntN(5) == 0 {
		c.query["marker"] = "" // sent as a bare "marker"
	}
	if rng.IntN(4) == 0 {
		c.query["tag_keys"] = []string{hwRandomString(rng, 4), "b", "a", hwRandomString(rng, 4)}
	}
	if rng.IntN(2) == 0 {
		c.headers["X-Domain-Id"] = "05261f923e80d3890f33c0056e9b3f80"
	}
	if rng.IntN(2) == 0 {
		c.headers["X-Security-Token"] = hwTempTok
		c.ak, c.sk = hwTempAK, hwTempSK
	}
	if rng.IntN(4) == 0 {
		c.headers["X_Unsigned_Underscore"] = hwRandomString(rng, 5) // the SDK does not sign names with "_"
	}
	if p.method == "POST" {
		var tags []map[string]string
		for range rng.IntN(4) {
			tags = append(tags, map[string]string{"key": "环境 " + hwRandomString(rng, 6), "value": "<&>" + hwRandomString(rng, 6)})
		}
		c.body = map[string]any{"tags": tags, "without_any_tag": rng.IntN(2) == 0}
	}
	return c
}

// hwSignWithSDK builds c with the SDK's request builder for endpoint, signs
// it with the SDK's signer and converts it to the request the SDK would send.
func hwSignWithSDK(t *testing.T, endpoint string, c hwOracleCase) *http.Request {
	t.Helper()
	b := request.NewHttpRequestBuilder().WithEndpoint(endpoint).WithPath(c.path).WithMethod(c.method)
	for k, v := range c.query {
		b.AddQueryParam(k, reflect.ValueOf(v))
	}
	for k, v := range c.headers {
		b.AddHeaderParam(k, v)
	}
	b.AddHeaderParam("X-Sdk-Date", c.date.UTC().Format(hwsign.DateLayout))
	if c.body != nil {
		b.WithBody("json", c.body)
	}
	req := b.Build()
	added, err := signer.Signer{}.Sign(req, c.ak, c.sk)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range added {
		req.AddHeaderParam(k, v)
	}
	hr, err := req.ConvertRequest()
	if err != nil {
		t.Fatal(err)
	}
	return hr
}

// TestHWSignOracle signs many random requests with the SDK's own signer and
// checks that Verify accepts each as received by a server, and refuses each
// change of a signed part.
func TestHWSignOracle(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Second)
	srv := httptest.NewServer(hwVerifyHandler(hwOracleVerifier(), func() time.Time { return base }))
	defer srv.Close()

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x6877))
	for i := range 400 {
		c := hwRandomCase(rng, base)
		resp, err := srv.Client().Do(hwSignWithSDK(t, srv.URL, c))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Verified-Access-Key") != c.ak {
			t.Fatalf("case %d (%s %q, query %v, headers %v): %d %s", i, c.method, c.path, c.query, c.headers, resp.StatusCode, msg)
		}
	}
}

// TestHWSignOracleRefusals checks requests the SDK signs that Verify must
// refuse: a non-JSON content type, which makes the SDK send
// X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD; a date out of the window; an
// unknown access key; a wrong secret key; and a temporary key without its
// token.
func TestHWSignOracleRefusals(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Second)
	srv := httptest.NewServer(hwVerifyHandler(hwOracleVerifier(), func() time.Time { return base }))
	defer srv.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name   string
		change func(c *hwOracleCase)
		want   string
	}{
		{"unsigned payload", func(c *hwOracleCase) { c.headers["Content-Type"] = "application/octet-stream" }, "unsigned payloads are not accepted"},
		{"old date", func(c *hwOracleCase) { c.date = base.Add(-16 * time.Minute) }, "is more than 15 minutes from the server's time"},
		{"unknown key", func(c *hwOracleCase) { c.ak = "HPUAUNKNOWN" }, "verify aksk signature fail: the access key HPUAUNKNOWN does not exist"},
		{"wrong secret", func(c *hwOracleCase) { c.sk += "x" }, "verify aksk signature fail: the signature does not match"},
		{"temporary key without token", func(c *hwOracleCase) {
			delete(c.headers, "X-Security-Token")
			c.ak, c.sk = hwTempAK, hwTempSK
		}, "the security token is missing, unsigned or does not match the access key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := hwRandomCase(rng, base)
			tc.change(&c)
			resp, err := srv.Client().Do(hwSignWithSDK(t, srv.URL, c))
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !bytes.Contains(msg, []byte("APIGW.0301")) || !bytes.Contains(msg, []byte(tc.want)) {
				t.Fatalf("%d %s, want 401 APIGW.0301 %q", resp.StatusCode, msg, tc.want)
			}
		})
	}
}

// TestHWSignSDKClient drives the unmodified Organizations client, with
// permanent and with temporary credentials, against a server that verifies
// every call.
func TestHWSignSDKClient(t *testing.T) {
	var calls atomic.Int64
	v := hwOracleVerifier()
	h := hwVerifyHandler(v, time.Now)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h(w, r)
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name string
		cred func() (*global.Credentials, error)
	}{
		{"permanent", func() (*global.Credentials, error) {
			return global.NewCredentialsBuilder().WithAk(hwPermAK).WithSk(hwPermSK).SafeBuild()
		}},
		{"temporary with domain id", func() (*global.Credentials, error) {
			return global.NewCredentialsBuilder().WithAk(hwTempAK).WithSk(hwTempSK).WithSecurityToken(hwTempTok).
				WithDomainId("05261f923e80d3890f33c0056e9b3f80").SafeBuild()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := tc.cred()
			if err != nil {
				t.Fatal(err)
			}
			hc, err := org.OrganizationsClientBuilder().WithEndpoints([]string{srv.URL}).WithCredential(cred).SafeBuild()
			if err != nil {
				t.Fatal(err)
			}
			c := org.NewOrganizationsClient(hc)
			before := calls.Load()

			if _, err := c.TagResource(&model.TagResourceRequest{ResourceId: "ou-ключ 1", Body: &model.TagResourceReqBody{
				Tags: []model.TagDto{{Key: "环境", Value: "<prod & test>"}, {Key: "key with space", Value: ""}},
			}}); err != nil {
				t.Fatalf("TagResource: %v", err)
			}
			if _, err := c.UntagResource(&model.UntagResourceRequest{ResourceId: "ou-ключ 1", Body: &model.UntagResourceReqBody{TagKeys: []string{"环境"}}}); err != nil {
				t.Fatalf("UntagResource: %v", err)
			}
			limit, marker := int32(20), "abc+/= x"
			if _, err := c.ListTagsForResource(&model.ListTagsForResourceRequest{ResourceId: "ou-1", Limit: &limit, Marker: &marker}); err != nil {
				t.Fatalf("ListTagsForResource: %v", err)
			}
			var rt model.ListResourceInstancesRequestResourceType
			if err := rt.UnmarshalJSON([]byte(`"organizations:ous"`)); err != nil {
				t.Fatal(err)
			}
			offset := "10"
			if _, err := c.ListResourceInstances(&model.ListResourceInstancesRequest{ResourceType: rt, Limit: &limit, Offset: &offset,
				Body: &model.ResourceInstanceReqBody{}}); err != nil {
				t.Fatalf("ListResourceInstances: %v", err)
			}
			if got := calls.Load() - before; got != 4 {
				t.Fatalf("the server saw %d calls, want 4", got)
			}

			// The same client with the wrong secret key is refused with the
			// gateway's error.
			bad, err := global.NewCredentialsBuilder().WithAk(cred.AK).WithSk(cred.SK + "x").WithSecurityToken(cred.SecurityToken).SafeBuild()
			if err != nil {
				t.Fatal(err)
			}
			hc, err = org.OrganizationsClientBuilder().WithEndpoints([]string{srv.URL}).WithCredential(bad).SafeBuild()
			if err != nil {
				t.Fatal(err)
			}
			_, err = org.NewOrganizationsClient(hc).TagResource(&model.TagResourceRequest{ResourceId: "ou-1", Body: &model.TagResourceReqBody{Tags: []model.TagDto{{Key: "k", Value: "v"}}}})
			wantHWError(t, err, 401, "APIGW.0301")
		})
	}
}
