package openapi

import (
	"encoding/json"
	"fmt"
	"strings"
)

// doc is an OpenAPI 2 document as JSON objects.
type doc = map[string]any

// ref returns a schema referring to a definition.
func ref(name string) doc { return doc{"$ref": "#/definitions/" + name} }

// awsTargetPath is the path the AWS rules bind operations to (the dialect
// rewrites POST / to it); awsTargetPrefix is the target's service part.
const (
	awsTargetPath   = "/x-amz-target/"
	awsTargetPrefix = "ResourceGroupsTaggingAPI_20170126."
)

// FixAWS turns the generated AWS document into the API as clients see it:
// every operation is POST / told apart by its X-Amz-Target header, so each
// path becomes "/#X-Amz-Target=<target>" (the convention of published AWS
// OpenAPI documents) with the header as a required parameter; bodies are
// application/x-amz-json-1.1, errors {__type, Message}, and requests are
// signed with SigV4.
func FixAWS(raw []byte) ([]byte, error) {
	var d doc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	paths, _ := d["paths"].(doc)
	fixed := doc{}
	for path, item := range paths {
		target, ok := strings.CutPrefix(path, awsTargetPath)
		if !ok || !strings.HasPrefix(target, awsTargetPrefix) {
			return nil, fmt.Errorf("AWS path %q is not %s%s<operation>", path, awsTargetPath, awsTargetPrefix)
		}
		op, ok := item.(doc)["post"].(doc)
		if !ok || len(item.(doc)) != 1 {
			return nil, fmt.Errorf("AWS path %q is not POST only", path)
		}
		op["operationId"] = strings.TrimPrefix(target, awsTargetPrefix)
		op["parameters"] = append([]any{doc{
			"name": "X-Amz-Target", "in": "header", "required": true, "type": "string", "enum": []any{target},
			"description": "The operation: " + target + ".",
		}}, op["parameters"].([]any)...)
		responses := op["responses"].(doc)
		responses["400"] = doc{"description": "The request is invalid, unauthenticated or denied; __type names the error (docs/aws.md).", "schema": ref("AWSError")}
		responses["500"] = doc{"description": "The tag store failed; retrying is safe (InternalServiceException).", "schema": ref("AWSError")}
		fixed["/#X-Amz-Target="+target] = doc{"post": op}
	}
	d["paths"] = fixed
	d["consumes"] = []any{"application/x-amz-json-1.1"}
	d["produces"] = []any{"application/x-amz-json-1.1"}
	defs := d["definitions"].(doc)
	defs["AWSError"] = doc{
		"type":     "object",
		"required": []any{"__type", "Message"},
		"properties": doc{
			"__type":  doc{"type": "string", "description": "The error type, such as InvalidParameterException; also in the X-Amzn-ErrorType header."},
			"Message": doc{"type": "string", "description": "What went wrong, naming the member at fault."},
		},
	}
	d["securityDefinitions"] = doc{"sigv4": doc{
		"type": "apiKey", "in": "header", "name": "Authorization",
		"description": "AWS Signature Version 4 (AWS4-HMAC-SHA256) with X-Amz-Date, and X-Amz-Security-Token for session credentials, as every AWS SDK signs. Required when tagway runs with --auth-file (docs/auth.md).",
	}}
	d["security"] = []any{doc{"sigv4": []any{}}}
	setInfo(d, "tagway: AWS Resource Groups Tagging API", "2017-01-26")
	return encode(d)
}

// FixHuawei completes the generated Huawei document: the error body
// {error_code, error_msg, request_id} and the SDK-HMAC-SHA256 signature.
func FixHuawei(raw []byte) ([]byte, error) {
	var d doc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	for _, item := range d["paths"].(doc) {
		for _, op := range item.(doc) {
			op.(doc)["operationId"] = strings.TrimPrefix(op.(doc)["operationId"].(string), "OrganizationsService_")
			op.(doc)["responses"].(doc)["default"] = doc{"description": "An error; error_code names it (docs/huawei.md).", "schema": ref("HuaweiError")}
		}
	}
	d["produces"] = []any{"application/json;charset=UTF-8"}
	d["definitions"].(doc)["HuaweiError"] = doc{
		"type":     "object",
		"required": []any{"error_code", "error_msg"},
		"properties": doc{
			"error_code": doc{"type": "string", "description": "The error, such as Organizations.9001 or APIGW.0301."},
			"error_msg":  doc{"type": "string", "description": "What went wrong, naming the field at fault."},
			"request_id": doc{"type": "string", "description": "The request's id, also in the X-Request-Id header."},
		},
	}
	d["securityDefinitions"] = doc{
		"akSk": doc{
			"type": "apiKey", "in": "header", "name": "Authorization",
			"description": "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=..., Signature=... as the Huawei Cloud SDKs sign. Required when tagway runs with --auth-file (docs/auth.md).",
		},
		"sdkDate": doc{"type": "apiKey", "in": "header", "name": "X-Sdk-Date", "description": "The signing time, yyyyMMddTHHmmssZ."},
	}
	d["security"] = []any{doc{"akSk": []any{}, "sdkDate": []any{}}}
	setInfo(d, "tagway: Huawei Cloud Organizations tags", "v1")
	return encode(d)
}

// setInfo names the API and its version, which the generator leaves unset.
func setInfo(d doc, title, version string) {
	info, _ := d["info"].(doc)
	if info == nil {
		info = doc{}
		d["info"] = info
	}
	info["title"], info["version"] = title, version
}

// encode writes d with sorted keys and a final newline, so that the output
// is the same on every run.
func encode(d doc) ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
