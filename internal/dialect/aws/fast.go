package aws

import (
	"google.golang.org/protobuf/proto"

	awsv1 "github.com/tagway/tagway/gen/go/tagway/aws/v1"
	"github.com/tagway/tagway/internal/dialect/gateway"
)

// fastPath decodes TagResources and UntagResources, the calls sent in
// bulk, and encodes their answers when every resource changed, without
// reflection; everything else goes through the strict decoder and
// protojson.
var fastPath = gateway.FastPath{Decode: decodeFast, Encode: encodeFast}

func decodeFast(b []byte, msg proto.Message) bool {
	var arns, keys []string
	var tags map[string]string
	switch req := msg.(type) {
	case *awsv1.UntagResourcesRequest:
		if !gateway.DecodeFlat(b, gateway.Field{Name: "ResourceARNList", List: &arns}, gateway.Field{Name: "TagKeys", List: &keys}) {
			return false
		}
		req.ResourceArnList, req.TagKeys = arns, keys
	case *awsv1.TagResourcesRequest:
		if !gateway.DecodeFlat(b, gateway.Field{Name: "ResourceARNList", List: &arns}, gateway.Field{Name: "Tags", Object: &tags}) {
			return false
		}
		req.ResourceArnList, req.Tags = arns, tags
	default:
		return false
	}
	return true
}

// allChanged is the answer of a TagResources or UntagResources that
// changed every resource.
var allChanged = []byte(`{"FailedResourcesMap":{}}`)

func encodeFast(msg proto.Message) ([]byte, bool) {
	switch resp := msg.(type) {
	case *awsv1.UntagResourcesResponse:
		return allChanged, len(resp.GetFailedResourcesMap()) == 0
	case *awsv1.TagResourcesResponse:
		return allChanged, len(resp.GetFailedResourcesMap()) == 0
	}
	return nil, false
}
