// Package callinfo completes what a call's context says about it: the
// request id, operation and user agent a surface did not set (gRPC calls),
// and the origin the store's change feed records with each change.
package callinfo

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"regexp"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/tagstore"
)

// RequestIDHeader is the gRPC response header that carries the request id
// tagway gave a call.
const RequestIDHeader = "x-request-id"

// Fill completes c from a gRPC call's context (Describe) and returns the
// context carrying c, and the change-feed origin of c.
func Fill(ctx context.Context, c identity.Caller) (context.Context, identity.Caller) {
	ctx, c = Describe(ctx, c)
	if prev, ok := identity.FromContext(ctx); !ok || prev != c {
		ctx = identity.NewContext(ctx, c) // a surface that filled in everything already gave it
	}
	principal := ""
	if c.Principal != nil {
		principal = c.Principal.Name
	}
	return tagstore.WithOrigin(ctx, tagstore.Origin{Surface: c.Surface, Operation: c.Operation, Principal: principal, RequestID: c.RequestID}), c
}

// Describe completes what c says about a gRPC call from its context (its
// method, its user-agent metadata, a new request id, which the client is
// sent in RequestIDHeader) without making c the call's caller: for a call
// refused before anyone was authenticated.
func Describe(ctx context.Context, c identity.Caller) (context.Context, identity.Caller) {
	if c.Operation == "" {
		if m, ok := grpc.Method(ctx); ok {
			c.Operation = m[strings.LastIndexByte(m, '/')+1:]
		}
	}
	if c.UserAgent == "" {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			c.UserAgent = strings.Join(md.Get("user-agent"), " ")
		}
	}
	if c.RequestID == "" {
		ctx, c.RequestID = WithRequestID(ctx)
	}
	return ctx, c
}

type requestIDKey struct{}

// requestIDPattern accepts a caller's request id.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// WithRequestID returns the request id of a gRPC call, and ctx carrying
// it: the id ctx carries already, else the caller's own x-request-id when
// it is well formed, else a new one. It is sent back in the RequestIDHeader
// once, when it is first chosen, so that the access log, the change feed
// and the audit trail all name a call by the same id.
func WithRequestID(ctx context.Context) (context.Context, string) {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return ctx, id
	}
	id := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(RequestIDHeader); len(v) > 0 && requestIDPattern.MatchString(v[0]) {
			id = v[0]
		}
	}
	if id == "" {
		id = NewRequestID()
	}
	// Only a gRPC call has a stream to send the header on; asking
	// grpc.SetHeader without one builds an error for nothing.
	if stream := grpc.ServerTransportStreamFromContext(ctx); stream != nil {
		_ = stream.SetHeader(metadata.Pairs(RequestIDHeader, id))
	}
	return context.WithValue(ctx, requestIDKey{}, id), id
}

// NewRequestID returns 32 random hex digits (RandomID).
func NewRequestID() string {
	b := RandomID()
	return hex.EncodeToString(b[:])
}

// RandomID returns 16 random bytes for a request or record id. They come
// from math/rand/v2, which its runtime seeds from the system: ids must be
// unique, not secret, and crypto/rand cost a tenth of a small call.
func RandomID() [16]byte {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return b
}

// Stream returns stream answering ctx from Context, keeping whether it can
// be aborted (tagging.Aborter).
func Stream[T any](ctx context.Context, stream grpc.ServerStreamingServer[T]) grpc.ServerStreamingServer[T] {
	if a, ok := stream.(interface{ Abort() }); ok {
		return &abortable[T]{ServerStreamingServer: stream, ctx: ctx, abort: a.Abort}
	}
	return &withContext[T]{ServerStreamingServer: stream, ctx: ctx}
}

type withContext[T any] struct {
	grpc.ServerStreamingServer[T]
	ctx context.Context
}

func (s *withContext[T]) Context() context.Context { return s.ctx }

type abortable[T any] struct {
	grpc.ServerStreamingServer[T]
	ctx   context.Context
	abort func()
}

func (s *abortable[T]) Context() context.Context { return s.ctx }

// Abort cuts a blocked Send short.
func (s *abortable[T]) Abort() { s.abort() }
