package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"google.golang.org/grpc"

	awsv1 "github.com/tagway/tagway/gen/go/tagway/aws/v1"
	huaweiv1 "github.com/tagway/tagway/gen/go/tagway/huawei/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// TestOpenAPI loads the served OpenAPI documents with kin-openapi, checks
// that each describes every operation its dialect serves (every method of
// the dialect's service), and that each described operation is served:
// a request built from the document reaches the operation, not the
// dialect's unknown-operation error.
func TestOpenAPI(t *testing.T) {
	tw := tagwaytest.Start(t, binary)
	for _, c := range []struct {
		dialect string
		methods []string
		unknown string // what the dialect answers for no such operation
	}{
		{"aws", methodNames(awsv1.ResourceGroupsTaggingService_ServiceDesc.Methods), "UnknownOperationException"},
		{"huawei", methodNames(huaweiv1.OrganizationsService_ServiceDesc.Methods), "APIGW.0101"},
	} {
		t.Run(c.dialect, func(t *testing.T) {
			resp, err := http.Get(tw.URL() + "/openapi/" + c.dialect + ".json")
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("GET /openapi/%s.json: %d %s", c.dialect, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var doc2 openapi2.T
			if err := json.Unmarshal(raw, &doc2); err != nil {
				t.Fatal(err)
			}
			doc3, err := openapi2conv.ToV3(&doc2)
			if err != nil {
				t.Fatal(err)
			}
			if err := doc3.Validate(ctxT(t)); err != nil {
				t.Fatalf("the document is not valid OpenAPI: %v", err)
			}
			described := map[string]bool{}
			for path, item := range doc2.Paths {
				for method, op := range item.Operations() {
					described[op.OperationID] = true
					if code, body := callDescribed(t, tw, method, path, op); strings.Contains(body, c.unknown) || code == http.StatusNotFound {
						t.Errorf("%s %s (%s) is described but not served: %d %s", method, path, op.OperationID, code, body)
					}
				}
			}
			for _, m := range c.methods {
				if !described[m] {
					t.Errorf("operation %s is served but not described", m)
				}
			}
			if len(described) != len(c.methods) {
				t.Errorf("%d operations described, %d served", len(described), len(c.methods))
			}
		})
	}
}

func methodNames(ms []grpc.MethodDesc) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.MethodName)
	}
	return out
}

var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// callDescribed sends the request a document describes: the path (its
// "#X-Amz-Target=" fragment as that header, parameters filled in) with an
// empty JSON body, and returns the status and body.
func callDescribed(t *testing.T, tw *tagwaytest.Proc, method, path string, op *openapi2.Operation) (int, string) {
	t.Helper()
	path, target, _ := strings.Cut(path, "#X-Amz-Target=")
	path = pathParam.ReplaceAllStringFunc(path, func(p string) string {
		if p == "{resource_type}" {
			return "organizations:ous"
		}
		return "ou-abcd-12345678"
	})
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, tw.URL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
