package huawei

import (
	"net/http"
	"strings"

	"google.golang.org/protobuf/proto"

	huaweiv1 "github.com/tagway/tagway/gen/go/tagway/huawei/v1"
	"github.com/tagway/tagway/internal/dialect/gateway"
)

// fastPath decodes UntagResource, the call sent in bulk, without
// reflection; everything else goes through protojson.
var fastPath = gateway.FastPath{Decode: decodeFast}

func decodeFast(b []byte, msg proto.Message) bool {
	req, ok := msg.(*huaweiv1.UntagResourceRequest)
	if !ok {
		return false
	}
	var keys []string
	if !gateway.DecodeFlat(b, gateway.Field{Name: "tag_keys", List: &keys}) {
		return false
	}
	req.TagKeys = keys
	return true
}

// bulkRoute returns the operation ("tag" or "untag") and resource id of a
// POST /v1/organizations/resources/{resource_id}/tag or /untag whose id is
// plain: letters, digits, "-" and "_", nothing escaped. The mux would route
// it, and give the id, as this does; anything else is left to the mux.
func bulkRoute(r *http.Request) (op, id string, ok bool) {
	if r.Method != http.MethodPost || r.URL.RawPath != "" {
		return "", "", false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, PathPrefix+"resources/")
	if !ok {
		return "", "", false
	}
	id, op, ok = strings.Cut(rest, "/")
	if !ok || id == "" || op != "tag" && op != "untag" {
		return "", "", false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", "", false
		}
	}
	return op, id, true
}
