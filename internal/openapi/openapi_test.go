package openapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	for _, c := range []struct {
		method, path string
		served       bool
	}{
		{"GET", "/openapi/aws.json", true},
		{"HEAD", "/openapi/huawei.json", true},
		{"POST", "/openapi/aws.json", false},
		{"GET", "/openapi/aws", false},
		{"GET", "/openapi/core.json", false},
		{"GET", "/openapi/../aws.json", false},
	} {
		w := httptest.NewRecorder()
		if got := Handler(w, httptest.NewRequest(c.method, "http://x"+c.path, nil)); got != c.served {
			t.Errorf("%s %s: served %v", c.method, c.path, got)
		}
		if c.served && (w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json") {
			t.Errorf("%s %s: %d %s", c.method, c.path, w.Code, w.Header().Get("Content-Type"))
		}
	}
}

// TestAWSShape checks what FixAWS makes of the AWS paths: POST / told
// apart by a required X-Amz-Target header, and awsJson errors.
func TestAWSShape(t *testing.T) {
	var d struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, In string
				Required bool
				Enum     []string
			}
			Responses map[string]struct {
				Schema struct {
					Ref string `json:"$ref"`
				}
			}
		}
		Definitions map[string]any
	}
	if err := json.Unmarshal(awsDoc, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Paths) == 0 {
		t.Fatal("no paths")
	}
	for path, item := range d.Paths {
		target, ok := strings.CutPrefix(path, "/#X-Amz-Target=")
		post, only := item["post"]
		if !ok || !only || len(item) != 1 {
			t.Errorf("path %q", path)
			continue
		}
		if p := post.Parameters[0]; p.Name != "X-Amz-Target" || p.In != "header" || !p.Required || len(p.Enum) != 1 || p.Enum[0] != target {
			t.Errorf("%s: first parameter %+v", path, p)
		}
		if post.Responses["400"].Schema.Ref != "#/definitions/AWSError" {
			t.Errorf("%s: 400 is %+v", path, post.Responses["400"])
		}
	}
	if d.Definitions["AWSError"] == nil || d.Definitions["rpcStatus"] != nil {
		t.Error("errors are not awsJson's")
	}
	if _, err := FixAWS([]byte(`{"paths":{"/v1/x":{"post":{}}}}`)); err == nil {
		t.Error("FixAWS took a path that is not an X-Amz-Target one")
	}
}
