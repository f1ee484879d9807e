package callinfo

import (
	"context"
	"regexp"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/tagstore"
)

func TestWithRequestIDIsChosenOnce(t *testing.T) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(RequestIDHeader, "caller-id-1"))
	ctx, id := WithRequestID(ctx)
	if id != "caller-id-1" {
		t.Fatalf("id %q, want the caller's", id)
	}
	// The access log chose the id; the access layer's Fill keeps it, and
	// so does the origin the feed records.
	ctx, c := Fill(ctx, identity.Caller{Surface: identity.SurfaceGRPC})
	if c.RequestID != id || tagstore.OriginOf(ctx).RequestID != id {
		t.Fatalf("Fill chose %q (origin %q), want %q", c.RequestID, tagstore.OriginOf(ctx).RequestID, id)
	}
	bad := metadata.NewIncomingContext(context.Background(), metadata.Pairs(RequestIDHeader, "no spaces allowed"))
	if _, id := WithRequestID(bad); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("id %q for a malformed caller id, want a new one", id)
	}
}
