package huawei

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

// Error codes tagway sends. Huawei does not publish the Organizations codes
// for these conditions, so they are tagway's own, in a range the published
// table does not use; docs/huawei.md lists them.
const (
	CodeInvalidParameter = "Organizations.9001" // 400: a field, id, key, value or count is invalid
	CodeMalformed        = "Organizations.9002" // 400: the body is missing, not JSON, or of the wrong shape
	CodeTagLimit         = "Organizations.9003" // 400: the resource would carry more than 20 tags
	CodeStoreUnavailable = "Organizations.9500" // 500: the tag store failed; retry
	CodeNoSuchAPI        = "APIGW.0101"         // 404: no API at this method and path
	CodeDenied           = "Organizations.1007" // 403: the caller may not act on the resource
	CodeStoreFull        = "Organizations.9507" // 507: the tag store is out of memory; tags can be removed, not added
	CodeSlowBody         = "Organizations.9408" // 408: the request body did not arrive in time
	CodeBusy             = "APIGW.0308"         // 429: too many requests in flight (API Gateway's throttling code)
)

// apiError is an error as Huawei Cloud sends it.
type apiError struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when positive, is sent as Retry-After, in seconds.
	RetryAfter time.Duration
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func invalid(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidParameter, Message: fmt.Sprintf(format, args...)}
}

func malformed(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: CodeMalformed, Message: fmt.Sprintf(format, args...)}
}

func noSuchAPI(r *http.Request) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: CodeNoSuchAPI, Message: fmt.Sprintf("The API does not exist or has not been published in the environment: %s %s", r.Method, r.URL.Path)}
}

// fieldNames maps core request fields to the dialect's.
var fieldNames = map[string]string{
	"resources":   "resource_id",
	"tag_keys":    "tag_keys",
	"tags":        "tags",
	"tag_filters": "tags",
}

// renamed reports the core's complaints about field from as complaints
// about field to, for calls whose request names it differently.
func renamed(err error, from, to string) error {
	if v, ok := tagging.ViolationOf(err); ok && v.Field == from {
		if v.Index >= 0 {
			return invalid("%s[%d]: %s", to, v.Index, v.Problem)
		}
		return invalid("%s: %s", to, v.Problem)
	}
	return err
}

// toAPIError maps any error of a call to the error to send.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	switch tagging.Info(err).GetReason() {
	case tagging.ReasonInvalidParameter:
		v, _ := tagging.ViolationOf(err)
		field := fieldNames[v.Field]
		if field == "" {
			field = v.Field
		}
		if v.Index >= 0 && v.Field != "resources" {
			field = fmt.Sprintf("%s[%d]", field, v.Index)
		}
		return invalid("%s: %s", field, v.Problem)
	case tagging.ReasonStoreUnavailable:
		return &apiError{Status: http.StatusInternalServerError, Code: CodeStoreUnavailable, Message: "the tag store is unavailable; retry the request"}
	case tagging.ReasonPermissionDenied:
		v, _ := tagging.ViolationOf(err)
		return &apiError{Status: http.StatusForbidden, Code: CodeDenied, Message: v.Problem}
	case tagging.ReasonDeniedByPolicy:
		return &apiError{Status: http.StatusForbidden, Code: CodeDenied, Message: "Policy doesn't allow this to be performed: " + status.Convert(err).Message()}
	case tagging.ReasonThrottled:
		return &apiError{Status: http.StatusTooManyRequests, Code: CodeBusy, RetryAfter: tagging.RetryDelay(err),
			Message: fmt.Sprintf("The throttling threshold has been reached: policy user over ratelimit,limit:%s,time:1 second", tagging.Info(err).GetMetadata()["limit"])}
	case tagging.ReasonOverloaded:
		return &apiError{Status: http.StatusTooManyRequests, Code: CodeBusy, RetryAfter: tagging.RetryDelay(err), Message: status.Convert(err).Message()}
	}
	switch status.Code(err) {
	case codes.Unauthenticated:
		return &apiError{Status: http.StatusUnauthorized, Code: CodeAuth, Message: "Incorrect IAM authentication information: " + status.Convert(err).Message()}
	case codes.InvalidArgument:
		// The gateway could not decode the body or a query parameter.
		return malformed("the request is malformed: %s", status.Convert(err).Message())
	case codes.Canceled:
		return &apiError{Status: 499, Code: "Organizations.9499", Message: "the client cancelled the request"}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: CodeStoreUnavailable, Message: "internal error"}
}

// writeAPIError writes e as Huawei Cloud does.
func writeAPIError(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.RetryAfter > 0 {
		// Whole seconds, rounded up, as Retry-After takes them.
		w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	gateway.WriteError(w, e.Status, contentType, struct {
		Code      string `json:"error_code"`
		Message   string `json:"error_msg"`
		RequestID string `json:"request_id"`
	}{e.Code, e.Message, w.Header().Get("X-Request-Id")})
}
