package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Direct serves a request whose route the dialect already knows, as the
// handler grpc-gateway generates for that route would, without the mux
// routing it: the body decoded by m into req (after fill, which sets what
// the route's path carries), the answer of call written, and any error
// reported, by the mux's own writers. It skips only what the dialects do
// not use: path matching, and the gRPC metadata and method name the mux
// puts in the context. The dialects serve their bulk calls this way.
func Direct[Req, Resp proto.Message](mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request,
	req Req, call func(context.Context, Req) (Resp, error),
) {
	// Empty metadata, as the generated handler leaves it: the response
	// writer then handles trailers as it does there.
	ctx := runtime.NewServerMetadataContext(r.Context(), runtime.ServerMetadata{})
	if err := m.NewDecoder(r.Body).Decode(req); err != nil && !errors.Is(err, io.EOF) {
		runtime.HTTPError(ctx, mux, m, w, r, status.Errorf(codes.InvalidArgument, "%v", err))
		return
	}
	resp, err := call(ctx, req)
	if err != nil {
		runtime.HTTPError(ctx, mux, m, w, r, err)
		return
	}
	runtime.ForwardResponseMessage(ctx, mux, m, w, r, resp)
}
