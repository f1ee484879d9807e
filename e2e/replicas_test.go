package e2e

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// served returns how many calls of surface tw has served, from /metrics.
func served(t *testing.T, tw *tagwaytest.Proc, surface string) uint64 {
	t.Helper()
	families := scrape(t, tw)
	var n uint64
	for _, m := range families["tagway_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "surface" && l.GetValue() == surface {
				n += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}

// TestTwoReplicas checks what eachStore's two-replicas runs rely on: calls
// do alternate between the processes, a page token issued by one is taken
// by the other, and each one's readiness is its own.
func TestTwoReplicas(t *testing.T) {
	if _, err := redis.Do("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	a := tagwaytest.Start(t, binary, "--store", redis.URL())
	b := tagwaytest.Start(t, binary, "--store", redis.URL(), "--drain-delay", "3s")
	tw := pair(t, a, b)
	cl := awsClient(tw, region)
	for i := range 6 {
		tagAWS(t, cl, []string{instance(i)}, map[string]string{"k": "v"})
	}
	// Pages of one resource: each token goes to the other process.
	if got := pages(t, cl, &rgta.GetResourcesInput{ResourcesPerPage: awsInt32(1)}); len(got) != 6 {
		t.Fatalf("listed %v", got)
	}
	c := core(t, tw)
	req := &tagwayv1.ListResourcesRequest{PageSize: 1}
	for n := 0; ; n++ {
		resp, err := c.ListResources(ctxT(t), req)
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	// round_robin uses a connection once it is up: give the second time.
	for range 10 {
		if _, err := c.GetResourceTags(ctxT(t), &tagwayv1.GetResourceTagsRequest{Resources: []string{instance(0)}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*tagwaytest.Proc{a, b} {
		if served(t, p, "aws") < 3 || served(t, p, "grpc") < 3 {
			t.Fatalf("%s served aws %d, grpc %d: calls do not alternate", p.HTTP, served(t, p, "aws"), served(t, p, "grpc"))
		}
	}
	// b drains (not ready for 3 s); a stays ready.
	b.Signal(t, syscall.SIGTERM)
	deadline := time.Now().Add(2 * time.Second)
	for {
		rb, err := http.Get(b.URL() + "/readyz")
		if err == nil {
			rb.Body.Close()
		}
		if err == nil && rb.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b did not turn not-ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ra, err := http.Get(a.URL() + "/readyz")
	if err != nil || ra.StatusCode != http.StatusOK {
		t.Fatalf("a's readiness followed b's: %v %v", ra, err)
	}
	ra.Body.Close()
}
