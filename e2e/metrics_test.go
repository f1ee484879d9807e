package e2e

import (
	"net/http"
	"strings"
	"testing"

	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// TestMetrics scrapes /metrics after calls on every surface and reads it
// with Prometheus's own text parser.
func TestMetrics(t *testing.T) {
	tw := tagwaytest.Start(t, binary)
	tagAWS(t, awsClient(tw, region), []string{instance(1)}, map[string]string{"k": "v"})
	_, _ = awsClient(tw, region).GetResources(ctxT(t), &rgta.GetResourcesInput{ResourcesPerPage: awsInt32(0)})
	tagHW(t, huaweiClient(t, tw), ou1, "k", "v")
	if _, err := core(t, tw).GetResourceTags(ctxT(t), &tagwayv1.GetResourceTagsRequest{Resources: []string{instance(1)}}); err != nil {
		t.Fatal(err)
	}
	families := scrape(t, tw)
	counts := map[string]uint64{}
	for _, m := range families["tagway_request_duration_seconds"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		counts[strings.Join([]string{l["surface"], l["operation"], l["code"]}, " ")] = m.GetHistogram().GetSampleCount()
	}
	for series, want := range map[string]uint64{
		"aws TagResources 200":                              1,
		"aws GetResources 400":                              1,
		"huawei TagResource 200":                            1,
		"grpc /tagway.v1.TaggingService/GetResourceTags OK": 1,
	} {
		if counts[series] != want {
			t.Errorf("series %q = %d, want %d; have %v", series, counts[series], want, counts)
		}
	}
	if g := families["tagway_store_ready"].GetMetric(); len(g) != 1 || g[0].GetGauge().GetValue() != 1 {
		t.Errorf("tagway_store_ready = %v", g)
	}
	// The standard gRPC server metrics, as go-grpc-middleware names them.
	handled := 0.0
	for _, m := range families["grpc_server_handled_total"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		if l["grpc_service"] == "tagway.v1.TaggingService" && l["grpc_method"] == "GetResourceTags" && l["grpc_code"] == "OK" {
			handled += m.GetCounter().GetValue()
		}
	}
	if handled != 1 {
		t.Errorf("grpc_server_handled_total for GetResourceTags OK = %v, want 1", handled)
	}
	// Two resources tagged (one over AWS, one over Huawei) through the core.
	if c := families["tagway_resources_changed_total"].GetMetric(); len(c) != 1 || c[0].GetCounter().GetValue() != 2 {
		t.Errorf("tagway_resources_changed_total = %v", c)
	}
	for _, name := range []string{"grpc_server_started_total", "grpc_server_handling_seconds", "go_goroutines", "process_resident_memory_bytes", "tagway_store_call_duration_seconds"} {
		if families[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
}
func awsInt32(v int32) *int32 { return &v }

// scrape reads tw's /metrics with Prometheus's parser.
func scrape(t *testing.T, tw *tagwaytest.Proc) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(tw.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("Prometheus cannot parse /metrics: %v", err)
	}
	return families
}
