package tagging

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tagway/tagway/internal/pagetoken"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of the service's errors.
const ErrorDomain = "tagway.dev"

// Reasons carried in the google.rpc.ErrorInfo of every error the service
// returns, so that each dialect can map them to its own error codes.
const (
	// ReasonInvalidParameter: a field of the request is invalid. The
	// ErrorInfo metadata names it ("field", and "index" for list items) and
	// says what is wrong ("problem").
	ReasonInvalidParameter = "INVALID_PARAMETER"
	// ReasonInvalidPageToken: the page token is malformed, forged, or was
	// issued for a different request. The metadata has the "problem".
	ReasonInvalidPageToken = "INVALID_PAGE_TOKEN"
	// ReasonPageTokenExpired: the page token is too old; start over.
	ReasonPageTokenExpired = "PAGE_TOKEN_EXPIRED"
	// ReasonStoreUnavailable: the tag store failed. Retrying is safe.
	ReasonStoreUnavailable = "STORE_UNAVAILABLE"
	// ReasonPermissionDenied: the call names a resource outside what its
	// caller may change (its Grant). The metadata names the field, index
	// and problem, as for ReasonInvalidParameter.
	ReasonPermissionDenied = "PERMISSION_DENIED"
	// ReasonDeniedByPolicy: the policies in force do not let the caller
	// make the call (PERMISSION_DENIED). The metadata has the "operation"
	// and the "problem".
	ReasonDeniedByPolicy = "DENIED_BY_POLICY"
	// ReasonThrottled: the caller made more calls to the operation than its
	// rate limit allows (RESOURCE_EXHAUSTED, with a google.rpc.RetryInfo).
	// The metadata has the "operation" and the "limit" in calls a second.
	ReasonThrottled = "THROTTLED"
	// ReasonOverloaded: tagway has as many calls in flight as it takes, and
	// refused this one at once (UNAVAILABLE, with a google.rpc.RetryInfo).
	ReasonOverloaded = "OVERLOADED"
)

// RetryDelay returns the delay of the google.rpc.RetryInfo in err, or 0.
func RetryDelay(err error) time.Duration {
	st, ok := status.FromError(err)
	if !ok {
		return 0
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

func withInfo(code codes.Code, reason, msg string, md map[string]string) error {
	st := status.New(code, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: md}); err == nil {
		st = d
	}
	return st.Err()
}

// invalid reports a problem with field (item index, or -1 for the field
// itself).
func invalid(field string, index int, format string, args ...any) error {
	problem := fmt.Sprintf(format, args...)
	md := map[string]string{"field": field, "problem": problem}
	where := field
	if index >= 0 {
		md["index"] = strconv.Itoa(index)
		where = fmt.Sprintf("%s[%d]", field, index)
	}
	return withInfo(codes.InvalidArgument, ReasonInvalidParameter, where+": "+problem, md)
}

func tokenError(err error) error {
	reason := ReasonInvalidPageToken
	if errors.Is(err, pagetoken.ErrExpired) {
		reason = ReasonPageTokenExpired
	}
	return withInfo(codes.InvalidArgument, reason, "page_token: "+err.Error(), map[string]string{"field": "page_token", "problem": err.Error()})
}

// storeFullMessage explains FAILURE_REASON_STORE_FULL.
const storeFullMessage = "the tag store is out of memory: tags cannot be added until an operator frees memory or raises its limit; removing tags still works, and retrying will not help until then"

// errStoreUnavailable is what a caller learns of a failed store read; the
// cause goes to the log, not to the caller.
var errStoreUnavailable = withInfo(codes.Unavailable, ReasonStoreUnavailable, "the tag store is unavailable; retry later", nil)

// Info returns the ErrorInfo of an error the service returned, or nil.
func Info(err error) *errdetails.ErrorInfo {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == ErrorDomain {
			return info
		}
	}
	return nil
}

// Violation describes an INVALID_PARAMETER error: the request field, the
// item index (-1 for the field itself) and the problem, so that a dialect
// can name the field its own way.
type Violation struct {
	Field   string
	Index   int
	Problem string
}

// ViolationOf returns the Violation in err, if it is an INVALID_PARAMETER
// or PERMISSION_DENIED error from the service.
func ViolationOf(err error) (Violation, bool) {
	info := Info(err)
	if r := info.GetReason(); r != ReasonInvalidParameter && r != ReasonPermissionDenied {
		return Violation{}, false
	}
	md := info.GetMetadata()
	v := Violation{Field: md["field"], Index: -1, Problem: md["problem"]}
	if s, ok := md["index"]; ok {
		if i, err := strconv.Atoi(s); err == nil {
			v.Index = i
		}
	}
	return v, true
}
