package tagging_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// TestWatchSlowGRPCClient: over a real gRPC connection, a client that stops
// reading fills its flow-control window and its queue; the watch then ends
// with RESOURCE_EXHAUSTED (SLOW_WATCHER), which the client reads after the
// messages it had not read, and writers never wait on it.
func TestWatchSlowGRPCClient(t *testing.T) {
	s := newService(t, memstore.New(), fastWatch(), tagging.WithSlowWatcher(300*time.Millisecond))
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	tagwayv1.RegisterTaggingServiceServer(srv, s)
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := tagwayv1.NewTaggingServiceClient(conn).WatchTagChanges(ctx, &tagwayv1.WatchTagChangesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("v", 250)
	start := time.Now()
	for i := range 2000 {
		mustTag(t, s, []string{fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%d", i)}, "a", big, "b", big, "c", big, "d", big)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("writers waited on the watcher: %v", d)
	}
	time.Sleep(time.Second)
	n := 0
	for {
		_, err := stream.Recv()
		if err != nil {
			if status.Code(err) != codes.ResourceExhausted || tagging.Info(err).GetReason() != tagging.ReasonSlowWatcher {
				t.Fatalf("after %d messages: %v", n, err)
			}
			break
		}
		n++
	}
	if n == 0 || n >= 2000 {
		t.Fatalf("the client read %d messages before the end", n)
	}
}
