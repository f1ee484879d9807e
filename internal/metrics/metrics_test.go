package metrics

import (
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	r := New()
	r.Observe("aws", "TagResources", "200", 3*time.Millisecond)
	r.Observe("aws", "TagResources", "200", 2*time.Second)
	r.Observe("aws", "TagResources", "200", 5*time.Second)
	r.Observe("grpc", `odd"name`, "OK", time.Microsecond)
	r.SetReady(true)
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`tagway_request_duration_seconds_bucket{surface="aws",operation="TagResources",code="200",le="0.0025"} 0`,
		`tagway_request_duration_seconds_bucket{surface="aws",operation="TagResources",code="200",le="0.005"} 1`,
		`tagway_request_duration_seconds_bucket{surface="aws",operation="TagResources",code="200",le="2.5"} 2`,
		`tagway_request_duration_seconds_bucket{surface="aws",operation="TagResources",code="200",le="+Inf"} 3`,
		`tagway_request_duration_seconds_count{surface="aws",operation="TagResources",code="200"} 3`,
		`tagway_request_duration_seconds_sum{surface="aws",operation="TagResources",code="200"} 7.003`,
		`operation="odd\"name"`,
		"tagway_store_ready 1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %s:\n%s", want, out)
		}
	}
	if strings.Index(out, `surface="aws"`) > strings.Index(out, `surface="grpc"`) {
		t.Error("series are not sorted")
	}
}
