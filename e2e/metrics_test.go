package e2e

import (
	"net/http"
	"strings"
	"testing"

	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
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
}
func awsInt32(v int32) *int32 { return &v }
