// Command generate writes the OpenAPI documents tagway serves
// (internal/openapi/*.json) from those protoc-gen-openapiv2 made in
// gen/openapiv2. make generate runs it from the module root after buf.
package main

import (
	"fmt"
	"os"

	"github.com/tagway/tagway/internal/openapi"
)

func main() {
	for _, f := range []struct {
		in, out string
		fix     func([]byte) ([]byte, error)
	}{
		{"gen/openapiv2/tagway/aws/v1/tagging.swagger.json", "internal/openapi/aws.json", openapi.FixAWS},
		{"gen/openapiv2/tagway/huawei/v1/organizations.swagger.json", "internal/openapi/huawei.json", openapi.FixHuawei},
	} {
		raw, err := os.ReadFile(f.in)
		if err == nil {
			raw, err = f.fix(raw)
		}
		if err == nil {
			err = os.WriteFile(f.out, raw, 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "generate %s: %v\n", f.out, err)
			os.Exit(1)
		}
	}
}
