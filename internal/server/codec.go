package server

import (
	"context"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
)

// utf8Codec is the proto codec, except that a request holding a string
// that is not valid UTF-8 is answered INVALID_ARGUMENT, the caller's
// mistake, instead of the INTERNAL grpc-go answers every decoding failure
// with. grpc-go fixes the code of a codec's error, so the codec decodes
// such a request without failing and records the problem, and the first
// interceptor (or the stream's RecvMsg) answers it before any handler
// sees the message.
type utf8Codec struct {
	encoding.CodecV2
	bad sync.Map // message (a pointer) -> error
}

func newUTF8Codec() *utf8Codec {
	return &utf8Codec{CodecV2: encoding.GetCodecV2(proto.Name)}
}

func (c *utf8Codec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err != nil && strings.Contains(err.Error(), "invalid UTF-8") {
		c.bad.Store(v, err)
		return nil
	}
	return err
}

// check returns the INVALID_ARGUMENT error of a message decoded with
// invalid UTF-8, and forgets it.
func (c *utf8Codec) check(v any) error {
	if err, ok := c.bad.LoadAndDelete(v); ok {
		return status.Errorf(codes.InvalidArgument, "the request is not valid: %v (strings must be UTF-8)", err)
	}
	return nil
}

func (c *utf8Codec) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := c.check(req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (c *utf8Codec) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &checkedStream{ServerStream: ss, codec: c})
}

type checkedStream struct {
	grpc.ServerStream
	codec *utf8Codec
}

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.codec.check(m)
}
