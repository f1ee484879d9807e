package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// botoRetryScript tags an ARN n times in a row with boto3 in the given
// retry mode and prints how many calls succeeded.
const botoRetryScript = `
import sys, boto3, botocore
c = boto3.client("resourcegroupstaggingapi", endpoint_url=sys.argv[1],
                 config=botocore.config.Config(retries={"mode": sys.argv[3]}))
ok = 0
for i in range(int(sys.argv[4])):
    r = c.tag_resources(ResourceARNList=[sys.argv[2]], Tags={"n": str(i)})
    if not r["FailedResourcesMap"]:
        ok += 1
print(ok)
`

// TestRateLimits runs tagway with --rate-limits aws: each surface answers
// a caller over its limit with its own throttling error and retry hint, the
// SDKs back off and succeed, and replicas on one Redis share the limit.
func TestRateLimits(t *testing.T) {
	authStores(t, func(t *testing.T, tw *tagwaytest.Proc) {
		arn := instanceOf(acctA, "i-throttled")
		// AWS, without retries: five calls a second, then ThrottledException
		// with x-amz-retry-after.
		once := awsAs(tw, region, akA, skA, "")
		var err error
		calls := 0
		for ; calls < 20 && err == nil; calls++ {
			_, err = once.TagResources(ctxT(t), tagInput(arn))
		}
		if calls < 6 || calls > 7 || awsCode(t, err) != "ThrottledException" {
			t.Fatalf("after %d calls: %v; want ThrottledException after 5 (6 with a refill)", calls, err)
		}
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
			t.Fatalf("status of %v, want 400", err)
		}
		if ms, perr := strconv.Atoi(re.Response.Header.Get("X-Amz-Retry-After")); perr != nil || ms <= 0 || ms > 1000 {
			t.Fatalf("x-amz-retry-after %q", re.Response.Header.Get("X-Amz-Retry-After"))
		}
		// AWS with the SDK's standard retryer: every call succeeds.
		retrying := rgta.New(rgta.Options{Region: region, BaseEndpoint: once.Options().BaseEndpoint, Credentials: once.Options().Credentials})
		for i := range 12 {
			if out, err := retrying.TagResources(ctxT(t), tagInput(arn)); err != nil || len(out.FailedResourcesMap) != 0 {
				t.Fatalf("call %d with retries: %v %v", i, out, err)
			}
		}
		// gRPC: RESOURCE_EXHAUSTED with RetryInfo; ListTagKeys has its own
		// limit of 5.
		g := grpcAs(t, tw.GRPC, tokenA)
		err = nil
		for calls = 0; calls < 20 && err == nil; calls++ {
			_, err = g.ListTagKeys(ctxT(t), &tagwayv1.ListTagKeysRequest{})
		}
		st := status.Convert(err)
		if st.Code() != codes.ResourceExhausted || tagging.Info(err).GetReason() != tagging.ReasonThrottled {
			t.Fatalf("gRPC over the limit: %v", err)
		}
		var retry *errdetails.RetryInfo
		for _, d := range st.Details() {
			if r, ok := d.(*errdetails.RetryInfo); ok {
				retry = r
			}
		}
		if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
			t.Fatalf("gRPC RetryInfo %v", retry)
		}
		// Huawei: 429 APIGW.0308 with Retry-After.
		var resp *http.Response
		var body []byte
		for calls = 0; calls < 20; calls++ {
			resp, body = sendHuawei(t, signedHuawei(t, tw, hwAKA, hwSKA, "/v1/organizations/resources/ou-throttled/tag",
				map[string]any{"tags": []map[string]string{{"key": "n", "value": fmt.Sprint(calls)}}}, time.Now()))
			if resp.StatusCode != http.StatusOK {
				break
			}
		}
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), `"error_code":"APIGW.0308"`) ||
			!strings.Contains(string(body), "policy user over ratelimit,limit:5,time:1 second") || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("Huawei over the limit: %d %s %q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
	}, "--rate-limits", "aws")
}

// sendHuawei sends a request and returns the response with its body read.
func sendHuawei(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestRateLimitsBoto3 checks that boto3 backs off from ThrottledException
// and succeeds, in its legacy retry mode (boto3's default) and in standard
// mode (the CLI's), which honours x-amz-retry-after.
func TestRateLimitsBoto3(t *testing.T) {
	python := requireTool(t, "/usr/bin/python3")
	if _, _, code := runTool(t, awsEnv(t), python, "-c", "import boto3"); code != 0 {
		requireTool(t, "/usr/lib/python3/dist-packages/boto3")
	}
	tw := tagwaytest.Start(t, binary, "--auth-file", writeAuthFile(t, authFile(skA, tokenA)), "--rate-limits", "aws")
	for _, mode := range []string{"legacy", "standard"} {
		stdout, stderr, code := runTool(t, awsEnvAs(t, akA, skA, ""), python, "-c", botoRetryScript, tw.URL(), instanceOf(acctA, "i-boto-"+mode), mode, "10")
		if code != 0 || strings.TrimSpace(stdout) != "10" {
			t.Fatalf("boto3 in %s mode: exit %d, %q calls succeeded, want 10\n%s", mode, code, stdout, stderr)
		}
	}
}

// TestRateLimitsPerPrincipal checks the auth file's rate_limits: a
// principal's own figure replaces --rate-limits', and applies with limits
// off too.
func TestRateLimitsPerPrincipal(t *testing.T) {
	file := strings.Replace(authFile(skA, tokenA), "  - name: team-b\n", "  - name: team-b\n    rate_limits: {ListTagKeys: 2}\n", 1)
	tw := tagwaytest.Start(t, binary, "--auth-file", writeAuthFile(t, file))
	count := func(token string) int {
		g := grpcAs(t, tw.GRPC, token)
		for n := 0; n < 20; n++ {
			if _, err := g.ListTagKeys(ctxT(t), &tagwayv1.ListTagKeysRequest{}); err != nil {
				if status.Code(err) != codes.ResourceExhausted {
					t.Fatal(err)
				}
				return n
			}
		}
		return 20
	}
	if n := count(tokenB); n < 2 || n > 3 {
		t.Fatalf("team-b made %d calls before its limit of 2", n)
	}
	if n := count(tokenA); n != 20 {
		t.Fatalf("team-a, without a limit, was throttled after %d calls", n)
	}
}

// TestOverloadSheds bounds tagway to 4 calls in flight and sends twice as
// many slow calls (Redis paused): the calls over the bound are refused at
// once as busy on every surface, while health and readiness still answer.
func TestOverloadSheds(t *testing.T) {
	r, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	tw := tagwaytest.Start(t, binary, "--store", r.URL(), "--max-inflight-calls", "4", "--store-timeout", "3s")
	g := core(t, tw)
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	defer r.Resume()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, err := g.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{instance(100 + i)}, Tags: map[string]string{"k": "v"}})
			errs <- err
		})
	}
	// The shed calls answer while the others wait for Redis.
	var shed int
	deadline := time.After(2 * time.Second)
	for shed < 4 {
		select {
		case err := <-errs:
			if status.Code(err) != codes.Unavailable || tagging.Info(err).GetReason() != tagging.ReasonOverloaded {
				t.Fatalf("a call answered before Redis came back: %v; want UNAVAILABLE/OVERLOADED", err)
			}
			shed++
		case <-deadline:
			t.Fatalf("%d calls shed within 2s, want 4", shed)
		}
	}
	// The dialects shed too, and health and readiness answer.
	aws := awsClient(tw, region)
	if _, err := aws.GetTagKeys(ctxT(t), &rgta.GetTagKeysInput{}); awsCode(t, err) != "ThrottlingException" {
		t.Fatalf("AWS while overloaded: %v", err)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tw.URL()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			t.Fatalf("%s while overloaded: %v", path, err)
		}
		resp.Body.Close()
	}
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && tagging.Info(err).GetReason() == tagging.ReasonOverloaded {
			t.Fatalf("more than 4 calls shed: %v", err)
		}
	}
	// Each refusal is counted: 4 gRPC TagResources and the AWS GetTagKeys
	// (ListTagKeys), with the SDK's retries.
	if n := metricValue(t, tw, "tagway_calls_refused_total", map[string]string{"operation": "TagResources", "reason": "OVERLOADED"}); n != 4 {
		t.Fatalf("tagway_calls_refused_total for TagResources = %v, want 4", n)
	}
	if n := metricValue(t, tw, "tagway_calls_refused_total", map[string]string{"operation": "ListTagKeys", "reason": "OVERLOADED"}); n < 1 {
		t.Fatalf("tagway_calls_refused_total for ListTagKeys = %v", n)
	}
}

// metricValue returns the sum of the counters named name whose labels
// include labels, from tagway's /metrics.
func metricValue(t *testing.T, tw *tagwaytest.Proc, name string, labels map[string]string) float64 {
	t.Helper()
	families := scrape(t, tw)
	sum := 0.0
	for _, m := range families[name].GetMetric() {
		have := map[string]string{}
		for _, p := range m.GetLabel() {
			have[p.GetName()] = p.GetValue()
		}
		match := true
		for k, v := range labels {
			match = match && have[k] == v
		}
		if match {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
