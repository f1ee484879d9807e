// Package openapi serves the OpenAPI 2 documents of the REST dialects,
// made from proto/ by protoc-gen-openapiv2 and fixed for each dialect's
// wire shape (FixAWS, FixHuawei; make generate).
package openapi

import (
	_ "embed"
	"net/http"
	"strings"
)

var (
	//go:embed aws.json
	awsDoc []byte
	//go:embed huawei.json
	huaweiDoc []byte
)

// Documents maps each dialect to its document.
var Documents = map[string][]byte{"aws": awsDoc, "huawei": huaweiDoc}

// Prefix is the path under which Handler serves /openapi/<dialect>.json.
const Prefix = "/openapi/"

// Handler serves GET and HEAD /openapi/<dialect>.json; it reports false
// for any other request, which it leaves alone.
func Handler(w http.ResponseWriter, r *http.Request) bool {
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	d, ok := Documents[strings.TrimSuffix(name, ".json")]
	if !ok || !strings.HasSuffix(name, ".json") {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(d)
	return true
}
