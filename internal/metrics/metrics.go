// Package metrics counts the requests tagway serves and writes them in the
// Prometheus text exposition format, without a client library.
package metrics

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Buckets are the upper bounds, in seconds, of the duration histogram.
var Buckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Registry holds the metrics. Its zero value is not usable; call New.
type Registry struct {
	mu       sync.Mutex
	requests map[key]*histogram
	ready    atomic.Int32
	start    time.Time
	counters []counter
}

// counter is a counter whose value a function reads at each scrape.
type counter struct {
	name, help string
	value      func() uint64
}

// AddCounter adds a counter, named name and described by help, whose value
// is read from value at each scrape.
func (r *Registry) AddCounter(name, help string, value func() uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counters = append(r.counters, counter{name, help, value})
}

type key struct{ surface, operation, code string }

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	count  uint64
	sum    float64
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{requests: map[key]*histogram{}, start: time.Now()}
}

// Observe records one request. surface is grpc, aws or huawei; operation
// and code come from fixed sets, so that series stay few.
func (r *Registry) Observe(surface, operation, code string, d time.Duration) {
	secs := d.Seconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key{surface, operation, code}
	h := r.requests[k]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(Buckets))}
		r.requests[k] = h
	}
	for i, b := range Buckets {
		if secs <= b {
			h.counts[i]++
			break
		}
	}
	h.count++
	h.sum += secs
}

// SetReady records whether the store answers.
func (r *Registry) SetReady(ready bool) {
	v := int32(0)
	if ready {
		v = 1
	}
	r.ready.Store(v)
}

// WriteTo writes every metric in the text exposition format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	b.WriteString("# HELP tagway_request_duration_seconds Requests served, by surface (grpc, aws, huawei), operation and result code, and how long they took.\n")
	b.WriteString("# TYPE tagway_request_duration_seconds histogram\n")
	r.mu.Lock()
	keys := slices.SortedFunc(maps.Keys(r.requests), func(a, b key) int {
		return strings.Compare(a.surface+"\x00"+a.operation+"\x00"+a.code, b.surface+"\x00"+b.operation+"\x00"+b.code)
	})
	for _, k := range keys {
		h := r.requests[k]
		labels := fmt.Sprintf(`surface="%s",operation="%s",code="%s"`, escape(k.surface), escape(k.operation), escape(k.code))
		var cum uint64
		for i, bound := range Buckets {
			cum += h.counts[i]
			fmt.Fprintf(&b, "tagway_request_duration_seconds_bucket{%s,le=\"%s\"} %d\n", labels, strconv.FormatFloat(bound, 'g', -1, 64), cum)
		}
		fmt.Fprintf(&b, "tagway_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", labels, h.count)
		fmt.Fprintf(&b, "tagway_request_duration_seconds_sum{%s} %s\n", labels, strconv.FormatFloat(h.sum, 'g', -1, 64))
		fmt.Fprintf(&b, "tagway_request_duration_seconds_count{%s} %d\n", labels, h.count)
	}
	for _, c := range r.counters {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", c.name, c.help, c.name, c.name, c.value())
	}
	r.mu.Unlock()
	b.WriteString("# HELP tagway_store_ready Whether the tag store answered the last readiness check (1) or not (0).\n")
	b.WriteString("# TYPE tagway_store_ready gauge\n")
	fmt.Fprintf(&b, "tagway_store_ready %d\n", r.ready.Load())
	b.WriteString("# HELP tagway_start_time_seconds When the process started, in seconds since the Unix epoch.\n")
	b.WriteString("# TYPE tagway_start_time_seconds gauge\n")
	fmt.Fprintf(&b, "tagway_start_time_seconds %d\n", r.start.Unix())
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// escape escapes a label value for the text format.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
