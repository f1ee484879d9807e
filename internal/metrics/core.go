package metrics

import (
	"context"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
)

// Core returns next with the resources its TagResources and UntagResources
// calls change, and those they fail, counted in r. Every other call passes
// through untouched.
func Core(next tagwayv1.TaggingServiceServer, r *Registry) tagwayv1.TaggingServiceServer {
	return &core{TaggingServiceServer: next, r: r}
}

type core struct {
	tagwayv1.TaggingServiceServer
	r *Registry
}

func (c *core) TagResources(ctx context.Context, req *tagwayv1.TagResourcesRequest) (*tagwayv1.TagResourcesResponse, error) {
	resp, err := c.TaggingServiceServer.TagResources(ctx, req)
	if err == nil {
		c.r.countChanges("tag", len(req.GetResources()), resp.GetFailedResources())
	}
	return resp, err
}

func (c *core) UntagResources(ctx context.Context, req *tagwayv1.UntagResourcesRequest) (*tagwayv1.UntagResourcesResponse, error) {
	resp, err := c.TaggingServiceServer.UntagResources(ctx, req)
	if err == nil {
		c.r.countChanges("untag", len(req.GetResources()), resp.GetFailedResources())
	}
	return resp, err
}

// countChanges counts the outcome of a batch of n resources that succeeded
// as a call, some of whose resources may have failed.
func (r *Registry) countChanges(op string, n int, failed map[string]*tagwayv1.ResourceFailure) {
	if changed := n - len(failed); changed > 0 {
		r.resources.WithLabelValues(op).Add(float64(changed))
	}
	for _, f := range failed {
		r.failures.WithLabelValues(op, f.GetReason().String()).Inc()
	}
}
