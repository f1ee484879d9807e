package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// scrape serves /metrics and parses it as Prometheus does.
func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := parser.TextToMetricFamilies(strings.NewReader(body)); err != nil {
		t.Fatalf("Prometheus cannot parse /metrics: %v\n%s", err, body)
	}
	return body
}

func TestExposition(t *testing.T) {
	r := New()
	r.Observe("aws", "TagResources", "200", 3*time.Millisecond)
	r.Observe("aws", "TagResources", "200", 2*time.Second)
	r.Observe("aws", "TagResources", "200", 5*time.Second)
	r.Observe("grpc", `odd"name`, "OK", time.Microsecond)
	r.SetReady(true)
	r.AddCounter("tagway_things_total", "Things.", func() uint64 { return 7 })
	r.InitGRPC(grpc.NewServer(grpc.UnaryInterceptor(r.GRPCUnary())))
	out := scrape(t, r)
	for _, want := range []string{
		`tagway_request_duration_seconds_bucket{code="200",operation="TagResources",surface="aws",le="0.0025"} 0`,
		`tagway_request_duration_seconds_bucket{code="200",operation="TagResources",surface="aws",le="0.005"} 1`,
		`tagway_request_duration_seconds_bucket{code="200",operation="TagResources",surface="aws",le="2.5"} 2`,
		`tagway_request_duration_seconds_bucket{code="200",operation="TagResources",surface="aws",le="+Inf"} 3`,
		`tagway_request_duration_seconds_sum{code="200",operation="TagResources",surface="aws"} 7.003`,
		`operation="odd\"name"`,
		"tagway_store_ready 1\n",
		"tagway_things_total 7\n",
		"tagway_start_time_seconds ",
		"go_goroutines ",
		"process_cpu_seconds_total ",
		"go_build_info{",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	r.SetReady(false)
	if out := scrape(t, r); !strings.Contains(out, "tagway_store_ready 0\n") {
		t.Error("tagway_store_ready is not 0 after SetReady(false)")
	}
}

// fakeCore fails the resources named "fail-*" with a tag limit.
type fakeCore struct {
	tagwayv1.UnimplementedTaggingServiceServer
}

func failures(names []string) map[string]*tagwayv1.ResourceFailure {
	out := map[string]*tagwayv1.ResourceFailure{}
	for _, n := range names {
		if strings.HasPrefix(n, "fail-") {
			out[n] = &tagwayv1.ResourceFailure{Reason: tagwayv1.FailureReason_FAILURE_REASON_TAG_LIMIT_EXCEEDED}
		}
	}
	return out
}

func (fakeCore) TagResources(_ context.Context, req *tagwayv1.TagResourcesRequest) (*tagwayv1.TagResourcesResponse, error) {
	if len(req.Resources) == 0 {
		return nil, errors.New("no resources")
	}
	return &tagwayv1.TagResourcesResponse{FailedResources: failures(req.Resources)}, nil
}

func (fakeCore) UntagResources(_ context.Context, req *tagwayv1.UntagResourcesRequest) (*tagwayv1.UntagResourcesResponse, error) {
	return &tagwayv1.UntagResourcesResponse{FailedResources: failures(req.Resources)}, nil
}

func TestCoreCountsResources(t *testing.T) {
	r := New()
	c := Core(fakeCore{}, r)
	ctx := context.Background()
	if _, err := c.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: []string{"a", "b", "fail-c"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResources(ctx, &tagwayv1.TagResourcesRequest{}); err == nil {
		t.Fatal("the fake core's error was lost")
	}
	if _, err := c.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetResourceTags(ctx, &tagwayv1.GetResourceTagsRequest{}); err == nil {
		t.Fatal("GetResourceTags did not pass through to the core")
	}
	out := scrape(t, r)
	for _, want := range []string{
		`tagway_resources_changed_total{operation="tag"} 2` + "\n",
		`tagway_resources_changed_total{operation="untag"} 1` + "\n",
		`tagway_resource_failures_total{operation="tag",reason="FAILURE_REASON_TAG_LIMIT_EXCEEDED"} 1` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	if strings.Contains(out, `tagway_resource_failures_total{operation="untag"`) {
		t.Error("an untag without failures counted one")
	}
}

// failingStore fails every read.
type failingStore struct{ tagstore.Store }

func (failingStore) Get(context.Context, []arn.Name) ([]tagstore.Resource, error) {
	return nil, errors.New("down")
}

func TestStoreTimesCalls(t *testing.T) {
	r := New()
	s := Store(memstore.New(), r)
	ctx := context.Background()
	name, err := arn.Parse("arn:aws:ec2:us-east-1:111111111111:instance/i-1")
	if err != nil {
		t.Fatal(err)
	}
	errs := s.Apply(ctx, []tagstore.Change{{Resource: name, Set: map[string]string{"k": "v", "l": "w"}, MaxTags: 1}})
	var limit *tagstore.LimitError
	if len(errs) != 1 || !errors.As(errs[0], &limit) {
		t.Fatalf("Apply = %v, want a limit error", errs)
	}
	if _, err := s.Get(ctx, []arn.Name{name}); err != nil {
		t.Fatal(err)
	}
	if _, err := Store(failingStore{s}, r).Get(ctx, []arn.Name{name}); err == nil {
		t.Fatal("the failure was lost")
	}
	out := scrape(t, r)
	for _, c := range []struct{ op, result string }{{"Apply", "ok"}, {"Get", "ok"}, {"Get", "error"}} {
		want := `tagway_store_call_duration_seconds_count{operation="` + c.op + `",result="` + c.result + `"} 1` + "\n"
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
}

func TestPoolCollector(t *testing.T) {
	r := New()
	if err := r.Register(PoolCollector(func() *redis.PoolStats {
		return &redis.PoolStats{Hits: 3, TotalConns: 2, WaitDurationNs: int64(1500 * time.Millisecond)}
	})); err != nil {
		t.Fatal(err)
	}
	out := scrape(t, r)
	for _, want := range []string{"tagway_redis_pool_hits_total 3\n", "tagway_redis_pool_connections 2\n", "tagway_redis_pool_wait_seconds_total 1.5\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
}
