// Package huawei serves the tag API of Huawei Cloud Organizations over HTTP:
// a grpc-gateway mux for the tagway.huawei.v1 dialect proto under
// /v1/organizations/, with Huawei's error shape and request ids. It
// translates every call onto the core tagway.v1.TaggingService. See
// docs/huawei.md.
package huawei

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	huaweiv1 "github.com/tagway/tagway/gen/go/tagway/huawei/v1"
	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/callinfo"
	"github.com/tagway/tagway/internal/dialect/gateway"
	"github.com/tagway/tagway/internal/identity"
)

const (
	// PathPrefix starts every path of the dialect.
	PathPrefix = "/v1/organizations/"
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes = 1 << 20
	// contentType is the media type of every response with a body.
	contentType = "application/json;charset=UTF-8"
)

// Handler serves the dialect.
type Handler struct {
	mux       *runtime.ServeMux
	marshaler runtime.Marshaler
	svc       *service
	auth      *authenticator
}

// New returns the dialect's handler over the core service, authenticating
// requests as auth says.
func New(core tagwayv1.TaggingServiceServer, auth Auth) *Handler {
	m := huaweiJSON{gateway.NewMarshaler(contentType).WithFastPath(fastPath)}
	mux := gateway.NewMux(m,
		func(w http.ResponseWriter, r *http.Request, err error) { writeAPIError(w, r, toAPIError(err)) },
		func(w http.ResponseWriter, r *http.Request) { writeAPIError(w, r, noSuchAPI(r)) },
	)
	svc := &service{core: core}
	if err := huaweiv1.RegisterOrganizationsServiceHandlerServer(context.Background(), mux, svc); err != nil {
		panic(err) // only fails for a nil mux or server
	}
	return &Handler{mux: mux, marshaler: m, svc: svc, auth: newAuthenticator(auth)}
}

// Claims reports whether r is a Huawei Cloud Organizations request.
func (h *Handler) Claims(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, PathPrefix) || r.URL.Path == strings.TrimSuffix(PathPrefix, "/")
}

// Busy implements server.Dialect: Huawei API Gateway's throttling error,
// which the SDK's callers retry.
func (h *Handler) Busy(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, r, &apiError{Status: http.StatusTooManyRequests, Code: CodeBusy, Message: "tagway is busy reading other requests; retry later"})
}

// Name implements server.Dialect.
func (h *Handler) Name() string { return "huawei" }

// Operation implements server.Dialect: it names the operation a method
// and path have the shape of.
func (h *Handler) Operation(r *http.Request) string {
	// At most 4 segments name an operation; a fixed array keeps the split
	// off the heap (this runs on every request).
	var buf [5]string
	seg := buf[:0]
	for rest, more := strings.TrimPrefix(r.URL.Path, PathPrefix), true; more && len(seg) < len(buf); {
		var part string
		part, rest, more = strings.Cut(rest, "/")
		seg = append(seg, part)
	}
	last := seg[len(seg)-1]
	switch {
	case len(seg) == 3 && seg[0] == "resources" && r.Method == http.MethodPost && last == "tag":
		return "TagResource"
	case len(seg) == 3 && seg[0] == "resources" && r.Method == http.MethodPost && last == "untag":
		return "UntagResource"
	case len(seg) == 3 && seg[0] == "resources" && r.Method == http.MethodGet && last == "tags":
		return "ListTagsForResource"
	case len(seg) == 4 && r.Method == http.MethodPost && seg[2] == "tags" && last == "create":
		return "CreateTagResource"
	case len(seg) == 4 && r.Method == http.MethodPost && seg[2] == "tags" && last == "delete":
		return "DeleteTagResource"
	case len(seg) == 3 && r.Method == http.MethodGet && last == "tags":
		return "ListTagResources"
	case len(seg) == 2 && r.Method == http.MethodGet && last == "tags":
		return "ListResourceTags"
	case len(seg) == 3 && r.Method == http.MethodPost && seg[1] == "resource-instances" && last == "filter":
		return "ListResourceInstances"
	case len(seg) == 3 && r.Method == http.MethodPost && seg[1] == "resource-instances" && last == "count":
		return "ShowResourceInstancesCount"
	}
	return "unknown"
}

// ServeHTTP handles one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	body, err := gateway.ReadBody(r, MaxBodyBytes)
	if errors.Is(err, gateway.ErrTooLarge) {
		writeAPIError(w, r, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "APIGW.0201", Message: fmt.Sprintf("Request entity too large: the body is over %d bytes", MaxBodyBytes)})
		return
	}
	if errors.Is(err, gateway.ErrSlowBody) {
		w.Header().Set("Connection", "close")
		writeAPIError(w, r, &apiError{Status: http.StatusRequestTimeout, Code: CodeSlowBody, Message: "the request body did not arrive in time; send it at once"})
		return
	}
	if err != nil {
		writeAPIError(w, r, malformed("the request body could not be read: %v", err))
		return
	}
	caller, aerr := h.auth.authenticate(r, body)
	if aerr != nil {
		if h.auth.Refused != nil {
			caller.Surface, caller.RequestID, caller.Operation, caller.UserAgent, caller.Peer = identity.SurfaceHuawei, id, h.Operation(r), r.UserAgent(), r.RemoteAddr
			h.auth.Refused(r.Context(), caller, fmt.Errorf("%s: %s", aerr.Code, aerr.Message))
		}
		writeAPIError(w, r, aerr)
		return
	}
	caller.RequestID, caller.Operation, caller.UserAgent = id, h.Operation(r), r.UserAgent()
	ctx := context.WithValue(identity.NewContext(r.Context(), caller), callKey{}, call{body: body})
	// The bulk calls go straight to their handler, the id taken from the
	// path as the mux takes it.
	switch op, id, ok := bulkRoute(r); {
	case ok && op == "untag":
		gateway.Direct(ctx, h.mux, h.marshaler, w, r, body, &huaweiv1.UntagResourceRequest{},
			func(ctx context.Context, req *huaweiv1.UntagResourceRequest) (*huaweiv1.UntagResourceResponse, error) {
				req.ResourceId = id
				return h.svc.UntagResource(ctx, req)
			})
	case ok:
		gateway.Direct(ctx, h.mux, h.marshaler, w, r, body, &huaweiv1.TagResourceRequest{},
			func(ctx context.Context, req *huaweiv1.TagResourceRequest) (*huaweiv1.TagResourceResponse, error) {
				req.ResourceId = id
				return h.svc.TagResource(ctx, req)
			})
	default:
		h.mux.ServeHTTP(w, gateway.WithBody(r, ctx, body))
	}
}

// call is what the front handler learned about a request.
type call struct {
	body []byte // as sent
}

type callKey struct{}

func callOf(ctx context.Context) call {
	c, _ := ctx.Value(callKey{}).(call)
	return c
}

// newRequestID returns 32 random hex digits, the form of Huawei request ids.
func newRequestID() string { return callinfo.NewRequestID() }

// huaweiJSON sends no body at all for a message without fields: the
// mutating calls answer 200 with an empty body.
type huaweiJSON struct{ *gateway.Marshaler }

// Marshal implements runtime.Marshaler.
func (m huaweiJSON) Marshal(v any) ([]byte, error) {
	if msg, ok := v.(proto.Message); ok && msg.ProtoReflect().Descriptor().Fields().Len() == 0 {
		return nil, nil
	}
	return m.Marshaler.Marshal(v)
}
