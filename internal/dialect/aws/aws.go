// Package aws serves the AWS Resource Groups Tagging API (awsJson1.1) over
// HTTP: a grpc-gateway mux for the tagway.aws.v1 dialect proto, a front
// handler that routes on X-Amz-Target, and errors in AWS's shape. It
// translates every call onto the core tagway.v1.TaggingService. See
// docs/aws.md.
package aws

import (
	"context"
	"encoding/hex"
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
	"github.com/tagway/tagway/internal/callinfo"
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
	mux       *runtime.ServeMux
	marshaler runtime.Marshaler
	svc       *service
	auth      *authenticator
}

// New returns the dialect's handler over the core service, authenticating
// requests as auth says.
func New(core tagwayv1.TaggingServiceServer, auth Auth) *Handler {
	// Empty lists, maps and strings are sent ({"FailedResourcesMap":{}},
	// "PaginationToken":""), absent messages are not.
	m := gateway.NewStrictMarshaler(ContentType).WithFastPath(fastPath)
	mux := gateway.NewMux(m,
		func(w http.ResponseWriter, _ *http.Request, err error) { writeAPIError(w, toAPIError(err)) },
		func(w http.ResponseWriter, r *http.Request) {
			writeAPIError(w, unknownOperation(r.Header.Get("X-Amz-Target")))
		},
	)
	svc := &service{core: core}
	if err := awsv1.RegisterResourceGroupsTaggingServiceHandlerServer(context.Background(), mux, svc); err != nil {
		panic(err) // only fails for a nil mux or server
	}
	return &Handler{mux: mux, marshaler: m, svc: svc, auth: newAuthenticator(auth)}
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
			h.auth.Refused(r.Context(), caller, fmt.Errorf("%s: %s", aerr.Type, aerr.Message))
		}
		writeAPIError(w, aerr)
		return
	}
	caller.RequestID, caller.Operation, caller.UserAgent = requestID, h.Operation(r), r.UserAgent()
	ctx := context.WithValue(identity.NewContext(r.Context(), caller), callKey{}, call{region: region, body: body})
	// The bulk calls go straight to their handler: the target names it.
	switch target {
	case TargetPrefix + "UntagResources":
		gateway.Direct(ctx, h.mux, h.marshaler, w, r, body, &awsv1.UntagResourcesRequest{}, h.svc.UntagResources)
		return
	case TargetPrefix + "TagResources":
		gateway.Direct(ctx, h.mux, h.marshaler, w, r, body, &awsv1.TagResourcesRequest{}, h.svc.TagResources)
		return
	}
	r = gateway.WithBody(r, ctx, body)
	u := *r.URL // r is a copy, its URL is not
	u.Path, u.RawPath = targetPath+target, ""
	r.URL = &u
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
	b := callinfo.RandomID()
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	hex.Encode(s[9:13], b[4:6])
	hex.Encode(s[14:18], b[6:8])
	hex.Encode(s[19:23], b[8:10])
	hex.Encode(s[24:36], b[10:16])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return string(s[:])
}
