// Package aws serves the AWS Resource Groups Tagging API (awsJson1.1) over
// HTTP: a grpc-gateway mux for the tagway.aws.v1 dialect proto, a front
// handler that routes on X-Amz-Target, and errors in AWS's shape. It
// translates every call onto the core tagway.v1.TaggingService. See
// docs/aws.md.
package aws

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	awsv1 "github.com/tagway/tagway/gen/go/tagway/aws/v1"
	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/dialect/gateway"
	"github.com/tagway/tagway/internal/identity"
)

const (
	// TargetPrefix starts the X-Amz-Target of every operation.
	TargetPrefix = "ResourceGroupsTaggingAPI_20170126."
	// ContentType is the media type of requests and responses.
	ContentType = "application/x-amz-json-1.1"
	// MaxBodyBytes bounds a request body. The largest valid request, a
	// GetResources with 50 filters of 20 values of 256 characters that
	// botocore escapes as \uXXXX, is about 1.6 MB.
	MaxBodyBytes = 4 << 20
	// targetPath is where the front handler moves a request for the mux.
	targetPath = "/x-amz-target/"
)

// targetPattern accepts X-Amz-Target values; anything else, such as a "/" or
// "..", could reach another route after the rewrite.
var targetPattern = regexp.MustCompile(`^[A-Za-z0-9_]+\.[A-Za-z0-9]+$`)

// Handler serves the dialect. It is an http.Handler that also reports, via
// Claims, which requests are its.
type Handler struct {
	mux  *runtime.ServeMux
	auth *authenticator
}

// New returns the dialect's handler over the core service, authenticating
// requests as auth says.
func New(core tagwayv1.TaggingServiceServer, auth Auth) *Handler {
	// Empty lists, maps and strings are sent ({"FailedResourcesMap":{}},
	// "PaginationToken":""), absent messages are not.
	mux := gateway.NewMux(gateway.NewStrictMarshaler(ContentType),
		func(w http.ResponseWriter, _ *http.Request, err error) { writeAPIError(w, toAPIError(err)) },
		func(w http.ResponseWriter, r *http.Request) {
			writeAPIError(w, unknownOperation(r.Header.Get("X-Amz-Target")))
		},
	)
	if err := awsv1.RegisterResourceGroupsTaggingServiceHandlerServer(context.Background(), mux, &service{core: core}); err != nil {
		panic(err) // only fails for a nil mux or server
	}
	return &Handler{mux: mux, auth: newAuthenticator(auth)}
}

// Claims reports whether r is an AWS request: it names an X-Amz-Target, or
// posts to the root path, where a missing target is AWS's error to report.
func (h *Handler) Claims(r *http.Request) bool {
	return r.Header.Get("X-Amz-Target") != "" || r.Method == http.MethodPost && r.URL.Path == "/"
}

// Busy implements server.Dialect: ThrottlingException, which the SDKs
// retry with backoff.
func (h *Handler) Busy(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, &apiError{Type: "ThrottlingException", Status: http.StatusBadRequest, Message: "Rate exceeded: tagway is busy reading other requests; retry later"})
}

// Name implements server.Dialect.
func (h *Handler) Name() string { return "aws" }

// operations are the operations of the API, for Operation.
var operations = []string{
	"TagResources", "UntagResources", "GetResources", "GetTagKeys", "GetTagValues",
	"GetComplianceSummary", "StartReportCreation", "DescribeReportCreation", "ListRequiredTags",
}

// Operation implements server.Dialect.
func (h *Handler) Operation(r *http.Request) string {
	if op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix); ok && slices.Contains(operations, op) {
		return op
	}
	return "unknown"
}

// ServeHTTP handles one AWS request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	w.Header().Set("x-amzn-RequestId", requestID)
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost {
		writeAPIError(w, &apiError{Type: "UnknownOperationException", Status: http.StatusBadRequest, Message: fmt.Sprintf("method %s is not supported; every operation is a POST", r.Method)})
		return
	}
	if !targetPattern.MatchString(target) {
		writeAPIError(w, unknownOperation(target))
		return
	}
	ctx := r.Context()
	r = r.Clone(ctx)
	body, err := gateway.ReadBody(r, MaxBodyBytes)
	if errors.Is(err, gateway.ErrTooLarge) {
		writeAPIError(w, &apiError{Type: "RequestEntityTooLargeException", Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes)})
		return
	}
	if errors.Is(err, gateway.ErrSlowBody) {
		w.Header().Set("Connection", "close")
		writeAPIError(w, &apiError{Type: "RequestTimeoutException", Status: http.StatusRequestTimeout, Message: "the request body did not arrive in time; send it at once"})
		return
	}
	if err != nil {
		writeAPIError(w, &apiError{Type: "SerializationException", Status: http.StatusBadRequest, Message: "could not read the request body: " + err.Error()})
		return
	}
	caller, region, aerr := h.auth.authenticate(r, body)
	if aerr != nil {
		if h.auth.Refused != nil {
			caller.Surface, caller.RequestID, caller.Operation, caller.UserAgent, caller.Peer = identity.SurfaceAWS, requestID, h.Operation(r), r.UserAgent(), r.RemoteAddr
			h.auth.Refused(ctx, caller, fmt.Errorf("%s: %s", aerr.Type, aerr.Message))
		}
		writeAPIError(w, aerr)
		return
	}
	caller.RequestID, caller.Operation, caller.UserAgent = requestID, h.Operation(r), r.UserAgent()
	ctx = identity.NewContext(ctx, caller)
	r = r.WithContext(context.WithValue(ctx, callKey{}, call{region: region, body: body}))
	r.URL.Path, r.URL.RawPath = targetPath+target, ""
	h.mux.ServeHTTP(w, r)
}

// call is what the front handler learned about a request.
type call struct {
	// region is the region of the request's SigV4 credential scope, the
	// region the API is "invoked in"; "" for a request that is not signed,
	// which tagway without an auth file serves in every region.
	region string
	// body is the request body as sent.
	body []byte
}

// sent reports whether the request body has a top-level member under any
// of names (protojson accepts the JSON and the proto name) with a value
// other than null: proto3 cannot tell an empty list from an absent one.
func (c call) sent(names ...string) bool {
	var members map[string]json.RawMessage
	if json.Unmarshal(c.body, &members) != nil {
		return false
	}
	for _, n := range names {
		if v, ok := members[n]; ok && string(v) != "null" {
			return true
		}
	}
	return false
}

type callKey struct{}

func callOf(ctx context.Context) call {
	c, _ := ctx.Value(callKey{}).(call)
	return c
}

// newRequestID returns a random UUID, as AWS request ids are.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
