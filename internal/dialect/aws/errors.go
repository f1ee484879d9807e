package aws

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tagway/tagway/internal/dialect/gateway"
	"github.com/tagway/tagway/internal/tagging"
)

// apiError is an error as AWS sends it: an exception name, a status and a
// message.
type apiError struct {
	Type    string
	Status  int
	Message string
	// RetryAfter, when positive, is sent as x-amz-retry-after, which the
	// SDKs' retryers honour.
	RetryAfter time.Duration
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func invalidParameter(format string, args ...any) *apiError {
	return &apiError{Type: "InvalidParameterException", Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func unknownOperation(target string) *apiError {
	if target == "" {
		return &apiError{Type: "UnknownOperationException", Status: http.StatusBadRequest, Message: "the request names no operation: the X-Amz-Target header is missing"}
	}
	return &apiError{Type: "UnknownOperationException", Status: http.StatusBadRequest, Message: fmt.Sprintf("unknown operation %q; operations are %s<Operation>", target, TargetPrefix)}
}

// fieldNames maps core request fields to the AWS members they come from.
var fieldNames = map[string]string{
	"resources":   "ResourceARNList",
	"tag_keys":    "TagKeys",
	"tags":        "Tags",
	"tag_filters": "TagFilters",
	"scopes":      "ResourceTypeFilters",
	"page_token":  "PaginationToken",
	"page_size":   "ResourcesPerPage",
	"tag_key":     "Key",
}

// toAPIError maps any error a call produced to the AWS error to send.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	info := tagging.Info(err)
	switch info.GetReason() {
	case tagging.ReasonInvalidParameter, tagging.ReasonPermissionDenied:
		// A resource outside the caller's account is the region check's
		// error: no capture of AWS's answer for another account's ARN was
		// found (docs/aws.md).
		v, _ := tagging.ViolationOf(err)
		field := fieldNames[v.Field]
		if field == "" {
			field = v.Field
		}
		if v.Index >= 0 {
			field = fmt.Sprintf("%s[%d]", field, v.Index)
		}
		return invalidParameter("%s: %s", field, v.Problem)
	case tagging.ReasonInvalidPageToken:
		return invalidParameter("PaginationToken: %s", info.GetMetadata()["problem"])
	case tagging.ReasonPageTokenExpired:
		return &apiError{Type: "PaginationTokenExpiredException", Status: http.StatusBadRequest, Message: "PaginationToken has expired; start again without it"}
	case tagging.ReasonStoreUnavailable:
		return &apiError{Type: "InternalServiceException", Status: http.StatusInternalServerError, Message: "the tag store is unavailable; retry the request"}
	case tagging.ReasonDeniedByPolicy:
		return &apiError{Type: "AccessDeniedException", Status: http.StatusBadRequest, Message: status.Convert(err).Message()}
	case tagging.ReasonThrottled:
		// 400: botocore's legacy retry mode retries ThrottledException only
		// with 400.
		return &apiError{Type: "ThrottledException", Status: http.StatusBadRequest, Message: status.Convert(err).Message(), RetryAfter: tagging.RetryDelay(err)}
	case tagging.ReasonOverloaded:
		return &apiError{Type: "ThrottlingException", Status: http.StatusBadRequest, Message: status.Convert(err).Message(), RetryAfter: tagging.RetryDelay(err)}
	}
	if status.Code(err) == codes.InvalidArgument {
		// The gateway could not decode the body into the input shape.
		return &apiError{Type: "SerializationException", Status: http.StatusBadRequest, Message: "the request body is not valid JSON for this operation: " + status.Convert(err).Message()}
	}
	if status.Code(err) == codes.Unauthenticated {
		return &apiError{Type: "UnrecognizedClientException", Status: http.StatusBadRequest, Message: status.Convert(err).Message()}
	}
	if status.Code(err) == codes.Canceled {
		return &apiError{Type: "RequestCanceled", Status: 499, Message: "the client cancelled the request"}
	}
	return &apiError{Type: "InternalServiceException", Status: http.StatusInternalServerError, Message: "internal error"}
}

// writeAPIError writes e as awsJson1.1 does: the name in __type and in
// X-Amzn-ErrorType, the text in Message.
func writeAPIError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	if e.RetryAfter > 0 {
		w.Header().Set("X-Amz-Retry-After", strconv.FormatInt(e.RetryAfter.Milliseconds()+1, 10))
	}
	gateway.WriteError(w, e.Status, ContentType, struct {
		Type    string `json:"__type"`
		Message string `json:"Message"`
	}{e.Type, e.Message})
}
