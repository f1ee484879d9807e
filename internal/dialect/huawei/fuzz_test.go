package huawei

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// FuzzHandler sends arbitrary methods, paths and bodies and checks that
// every answer is a well-formed Huawei response: never a panic, never a
// 5xx with the memory store, always X-Request-Id, and errors in Huawei's
// shape.
func FuzzHandler(f *testing.F) {
	for _, seed := range []struct{ method, path, body string }{
		{"POST", "resources/ou-1/tag", `{"tags":[{"key":"k","value":"v"}]}`},
		{"POST", "resources/ou-1/untag", `{"tag_keys":["k"]}`},
		{"GET", "resources/ou-1/tags?limit=1&marker=dDFr", ``},
		{"POST", "organizations:ous/ou-1/tags/create", `{"tags":[{"key":"k","value":"v"}]}`},
		{"POST", "organizations:ous/ou-1/tags/delete", `{"tags":[{"key":"k","value":""}]}`},
		{"GET", "organizations:accounts/05261f923e80d3890f33c0056e9b3f80/tags", ``},
		{"GET", "organizations:policies/tags", ``},
		{"POST", "organizations:roots/resource-instances/filter?limit=2&offset=1", `{"tags":[{"key":"k","values":["v"]}],"matches":[{"key":"resource_name","value":"r"}]}`},
		{"POST", "organizations:ous/resource-instances/count", `{"without_any_tag":true}`},
		{"POST", "resources//tag", `{"tags":null}`},
		{"DELETE", "x", `[1]`},
	} {
		f.Add(seed.method, seed.path, seed.body)
	}
	svc, err := tagging.New(context.Background(), memstore.New())
	if err != nil {
		f.Fatal(err)
	}
	h := New(svc, Auth{AllowRemote: true})
	f.Fuzz(func(t *testing.T, method, path, body string) {
		req, err := http.NewRequest(method, "http://tagway"+PathPrefix+path, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, w.Code, w.Body)
		}
		id := w.Header().Get("X-Request-Id")
		if len(id) != 32 {
			t.Fatalf("X-Request-Id %q", id)
		}
		if w.Code >= 400 {
			var e struct {
				Code    string `json:"error_code"`
				Message string `json:"error_msg"`
				ID      string `json:"request_id"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" || e.ID != id {
				t.Fatalf("error body %q: %v", w.Body, err)
			}
		} else if w.Body.Len() > 0 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("success body %q is not JSON", w.Body)
		}
	})
}
