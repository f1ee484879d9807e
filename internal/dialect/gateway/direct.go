package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Direct serves a request whose route the dialect already knows, as the
// handler grpc-gateway generates for that route would, without the mux
// routing it: body (r's, as ReadBody read it) decoded by m into req, req
// handed with ctx to call (which sets what the route's path carries), and
// the answer or error written by the mux's own writers. It skips only what
// the dialects do not use: path matching, and the gRPC metadata and method
// name the mux puts in the context. The dialects serve their bulk calls
// this way.
func Direct[Req, Resp proto.Message](ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request,
	body []byte, req Req, call func(context.Context, Req) (Resp, error),
) {
	// The check the mux's response writer makes (r.Header.Get("TE")),
	// without canonicalizing the key on every call.
	if te := r.Header["Te"]; len(te) > 0 && strings.Contains(strings.ToLower(te[0]), "trailers") {
		// Empty metadata, as the generated handler leaves it: the
		// response writer then answers a client that accepts trailers as
		// it does there. Nothing else reads it.
		ctx = runtime.NewServerMetadataContext(ctx, runtime.ServerMetadata{})
	}
	var err error
	if d, ok := m.(interface{ DecodeBytes([]byte, any) error }); ok {
		err = d.DecodeBytes(body, req) // NewDecoder's work, without its reader and closure
	} else {
		err = m.NewDecoder(bytes.NewReader(body)).Decode(req)
	}
	if err != nil && !errors.Is(err, io.EOF) {
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
