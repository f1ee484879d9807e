package huawei

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	huaweiv1 "github.com/tagway/tagway/gen/go/tagway/huawei/v1"
	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/dialect/gateway"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

func TestBulkRoute(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		op, id         string // op "": not taken
	}{
		{"POST", PathPrefix + "resources/ou-1/untag", "untag", "ou-1"},
		{"POST", PathPrefix + "resources/p-Tag_Policy1/tag?x=1", "tag", "p-Tag_Policy1"},
		{"GET", PathPrefix + "resources/ou-1/untag", "", ""},
		{"POST", PathPrefix + "resources/ou-1/untag/", "", ""},
		{"POST", PathPrefix + "resources//untag", "", ""},
		{"POST", PathPrefix + "resources/ou%2D1/untag", "", ""},
		{"POST", PathPrefix + "resources/ou.1/untag", "", ""},
		{"POST", PathPrefix + "resources/ou-1/tags", "", ""},
		{"POST", PathPrefix + "organizations:ous/ou-1/tags/create", "", ""},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		op, id, ok := bulkRoute(r)
		if ok != (tc.op != "") || op != tc.op || id != tc.id {
			t.Errorf("%s %s: %q %q %v", tc.method, tc.target, op, id, ok)
		}
	}
}

// TestDirectMatchesMux sends tag and untag calls, good and bad, along the
// direct route and through the mux, and checks that the answers are the
// same, byte for byte.
func TestDirectMatchesMux(t *testing.T) {
	svc, err := tagging.New(context.Background(), memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TagResources(context.Background(), &tagwayv1.TagResourcesRequest{Resources: []string{canonicalPrefix("") + "ou/ou-1"}, Tags: map[string]string{"a": "1"}}); err != nil {
		t.Fatal(err)
	}
	h := New(svc, Auth{AllowRemote: true})
	serve := func(viaMux bool, path, body string, header http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, PathPrefix+path, strings.NewReader(body))
		for k, v := range header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		if !viaMux {
			h.ServeHTTP(w, r)
			return w
		}
		w.Header().Set("X-Request-Id", newRequestID())
		b, _ := gateway.ReadBody(r, MaxBodyBytes)
		ctx := identity.NewContext(r.Context(), identity.Caller{Surface: identity.SurfaceHuawei, Peer: r.RemoteAddr})
		h.mux.ServeHTTP(w, gateway.WithBody(r, context.WithValue(ctx, callKey{}, call{body: b}), b))
		return w
	}
	for _, tc := range []struct {
		path, body string
		header     http.Header
	}{
		{"resources/ou-1/untag", `{"tag_keys":["a"]}`, nil},
		{"resources/ou-1/untag", `{"tag_keys":["absent","a\u0062"]}`, nil},
		{"resources/ou-1/untag", `{"tag_keys":[]}`, nil},
		{"resources/ou-1/untag", ``, nil},
		{"resources/ou-1/untag", `{"tag_keys":[1]}`, nil},
		{"resources/ou-1/untag", `{"tag_keys":["a"],"tag_keys":["b"]}`, nil},
		{"resources/ou-1/untag", `{"tag_keys":["a"]} {}`, nil},
		{"resources/ou-1/untag", `{"resource_id":"ou-2","tag_keys":["a"]}`, nil},
		{"resources/nope/untag", `{"tag_keys":["a"]}`, nil},
		{"resources/ou-1/untag", `{"tag_keys":["a"]}`, http.Header{"Te": {"trailers"}}},
		{"resources/ou-1/tag", `{"tags":[{"key":"k","value":"v"}]}`, nil},
		{"resources/ou-1/tag", `{"tags":[{"key":"k"}]}`, nil},
		{"resources/ou-1/tag", `{"tags":[{"key":"_sys_k","value":"v"}]}`, nil},
		{"resources/r-1/tag", `[]`, nil},
	} {
		direct, mux := serve(false, tc.path, tc.body, tc.header), serve(true, tc.path, tc.body, tc.header)
		id := func(w *httptest.ResponseRecorder) []byte {
			b := bytes.ReplaceAll(w.Body.Bytes(), []byte(w.Header().Get("X-Request-Id")), []byte("ID"))
			w.Header().Del("X-Request-Id")
			return b
		}
		if direct.Code != mux.Code || !bytes.Equal(id(direct), id(mux)) || !equalHeaders(direct.Header(), mux.Header()) {
			t.Errorf("%s %s: direct %d %v %s; mux %d %v %s", tc.path, tc.body, direct.Code, direct.Header(), direct.Body, mux.Code, mux.Header(), mux.Body)
		}
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, ",") != strings.Join(b[k], ",") {
			return false
		}
	}
	return true
}

// FuzzDecodeFast checks the fast path of UntagResource against protojson,
// which it stands in for: a body it takes decodes to the same request
// there, and one it declines is left to protojson.
func FuzzDecodeFast(f *testing.F) {
	f.Add([]byte(`{"tag_keys":["k","ключ"]}`))
	f.Add([]byte(` {"tag_keys" : [ ] }` + "\n"))
	f.Add([]byte(`{"tag_keys":["a\"b"]}`))
	f.Add([]byte(`{"tag_keys":["a"],"tag_keys":["b"]}`))
	f.Add([]byte(`{"tagKeys":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, slow huaweiv1.UntagResourceRequest
		if !decodeFast(b, &fast) {
			return
		}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &slow); err != nil || !proto.Equal(&fast, &slow) {
			t.Fatalf("%q: fast path %v, protojson %v, %v", b, &fast, &slow, err)
		}
	})
}
