package tracing

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
)

// tracerName names the tracer of tagway's own spans.
const tracerName = "github.com/tagway/tagway"

// Core returns next with a span ("core <Method>") around each of its calls,
// a child of the span of the gRPC call or REST request that made it.
// Disabled tracing returns next itself.
func (t *Tracing) Core(next tagwayv1.TaggingServiceServer) tagwayv1.TaggingServiceServer {
	if !t.Enabled() {
		return next
	}
	return &core{TaggingServiceServer: next, tracer: t.tp.Tracer(tracerName)}
}

type core struct {
	tagwayv1.TaggingServiceServer
	tracer trace.Tracer
}

// span runs fn in a child span named for method.
func span[Q, R any](c *core, ctx context.Context, method string, req Q, fn func(context.Context, Q) (R, error)) (R, error) {
	ctx, sp := c.tracer.Start(ctx, "core "+method, trace.WithSpanKind(trace.SpanKindInternal))
	defer sp.End()
	resp, err := fn(ctx, req)
	if err != nil {
		sp.SetStatus(codes.Error, status.Code(err).String())
	}
	return resp, err
}

func (c *core) UntagResources(ctx context.Context, req *tagwayv1.UntagResourcesRequest) (*tagwayv1.UntagResourcesResponse, error) {
	return span(c, ctx, "UntagResources", req, c.TaggingServiceServer.UntagResources)
}

func (c *core) TagResources(ctx context.Context, req *tagwayv1.TagResourcesRequest) (*tagwayv1.TagResourcesResponse, error) {
	return span(c, ctx, "TagResources", req, c.TaggingServiceServer.TagResources)
}

func (c *core) GetResourceTags(ctx context.Context, req *tagwayv1.GetResourceTagsRequest) (*tagwayv1.GetResourceTagsResponse, error) {
	return span(c, ctx, "GetResourceTags", req, c.TaggingServiceServer.GetResourceTags)
}

func (c *core) ListResources(ctx context.Context, req *tagwayv1.ListResourcesRequest) (*tagwayv1.ListResourcesResponse, error) {
	return span(c, ctx, "ListResources", req, c.TaggingServiceServer.ListResources)
}

func (c *core) CountResources(ctx context.Context, req *tagwayv1.CountResourcesRequest) (*tagwayv1.CountResourcesResponse, error) {
	return span(c, ctx, "CountResources", req, c.TaggingServiceServer.CountResources)
}

func (c *core) ListTagKeys(ctx context.Context, req *tagwayv1.ListTagKeysRequest) (*tagwayv1.ListTagKeysResponse, error) {
	return span(c, ctx, "ListTagKeys", req, c.TaggingServiceServer.ListTagKeys)
}

func (c *core) ListTagValues(ctx context.Context, req *tagwayv1.ListTagValuesRequest) (*tagwayv1.ListTagValuesResponse, error) {
	return span(c, ctx, "ListTagValues", req, c.TaggingServiceServer.ListTagValues)
}
