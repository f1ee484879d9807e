package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/smithy-go"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/global"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	org "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// chaosFull reports whether the fault drills run at full length (make
// chaos sets TAGWAY_CHAOS=full); otherwise they run a short version, as in
// CI.
func chaosFull() bool { return os.Getenv("TAGWAY_CHAOS") == "full" }

// absent stands for "the key is not set" among a key's possible values.
const absent = "\x00absent"

// Outcomes of one call, as a client sees them.
const (
	outcomeAcked     = "acked"
	outcomeFailed    = "failed"    // a documented, retryable error of the surface
	outcomeTransport = "transport" // no answer: the connection failed
	outcomeRefused   = "refused"   // the connection was refused: the call never reached tagway
	outcomeOther     = "undocumented"
)

// load drives tag and untag calls on all three surfaces, each worker on
// resources of its own, and keeps a model of the values every key may hold:
// exactly the last acknowledged one, or, after calls that failed, any of
// the values those calls might have set. With no late writes, a failed
// call lands before its answer or never, so the model is exact.
type load struct {
	t        *testing.T
	grpc     tagwayv1.TaggingServiceClient
	aws      *rgta.Client
	hw       *org.OrganizationsClient
	timeout  time.Duration
	mu       sync.Mutex
	possible map[string]map[string]bool // resource \x00 key -> values
	outcomes map[string]int             // surface/outcome -> count
	examples map[string]string          // surface/outcome -> one error
	slowest  map[string]time.Duration   // outcome -> longest call
	stop     chan struct{}
	wg       sync.WaitGroup
	ops      atomic.Int64
}

// newLoad returns a load on tw: gRPC at tw.GRPC, the dialects at tw.URL().
// Clients never retry, so that every failure is seen.
func newLoad(t *testing.T, tw *tagwaytest.Proc) *load {
	conn, err := grpc.NewClient(tw.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cred, err := global.NewCredentialsBuilder().WithAk("HPUAEXAMPLEAK").WithSk("exampleSecretKey").SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := org.OrganizationsClientBuilder().WithEndpoints([]string{tw.URL()}).WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithTimeout(10 * time.Second).WithHttpRoundTripper(connTracer{http.DefaultTransport.(*http.Transport).Clone()})).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return &load{
		t:    t,
		grpc: tagwayv1.NewTaggingServiceClient(conn),
		aws: rgta.New(rgta.Options{
			Region: region, BaseEndpoint: aws.String(tw.URL()),
			Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
			RetryMaxAttempts: 1,
			HTTPClient:       &http.Client{Timeout: 10 * time.Second, Transport: connTracer{http.DefaultTransport}},
		}),
		hw:       org.NewOrganizationsClient(hc),
		timeout:  10 * time.Second,
		possible: map[string]map[string]bool{},
		outcomes: map[string]int{},
		examples: map[string]string{},
		slowest:  map[string]time.Duration{},
		stop:     make(chan struct{}),
	}
}

// start runs perSurface workers on each surface until stop.
func (l *load) start(perSurface int) {
	for w := range perSurface {
		for _, surface := range []string{"grpc", "aws", "huawei"} {
			l.wg.Add(1)
			go l.worker(surface, w)
		}
	}
}

// halt stops the workers and waits for their last calls.
func (l *load) halt() {
	close(l.stop)
	l.wg.Wait()
}

// resourceOf names worker w's resource r on a surface.
func resourceOf(surface string, w, r int) string {
	switch surface {
	case "grpc":
		return fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-g%dr%d", w, r)
	case "aws":
		return fmt.Sprintf("arn:aws:ec2:us-east-1:123456789012:instance/i-a%dr%d", w, r)
	}
	return fmt.Sprintf("arn:huaweicloud:organizations:::ou/ou-h%dr%d", w, r)
}

func (l *load) worker(surface string, w int) {
	defer l.wg.Done()
	rng := rand.New(rand.NewPCG(uint64(w), uint64(len(surface))))
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		res := resourceOf(surface, w, rng.IntN(4))
		key := fmt.Sprint("k", rng.IntN(3))
		value := absent
		if rng.IntN(10) < 7 {
			value = fmt.Sprint("v", rng.IntN(100))
		}
		start := time.Now()
		outcome, detail := l.call(surface, res, key, value)
		took := time.Since(start)
		l.ops.Add(1)
		l.mu.Lock()
		id := res + "\x00" + key
		if l.possible[id] == nil {
			l.possible[id] = map[string]bool{absent: true}
		}
		if outcome == outcomeAcked {
			l.possible[id] = map[string]bool{value: true}
		} else if outcome != outcomeRefused {
			l.possible[id][value] = true
		}
		l.outcomes[surface+"/"+outcome]++
		if detail != "" && l.examples[surface+"/"+outcome] == "" {
			l.examples[surface+"/"+outcome] = detail
		}
		l.slowest[outcome] = max(l.slowest[outcome], took)
		l.mu.Unlock()
		if outcome == outcomeRefused || outcome == outcomeTransport {
			time.Sleep(20 * time.Millisecond) // tagway is away: do not spin
		}
	}
}

// connTracer marks each HTTP request's error with whether its connection
// was new: a new connection reset before any answer was one tagway never
// accepted (it was in the listen backlog as tagway stopped), unlike a
// kept-alive connection tagway closed under a request.
type connTracer struct{ next http.RoundTripper }

// errNewConn marks an error on a connection opened for the request.
var errNewConn = errors.New("on a new connection")

func (c connTracer) RoundTrip(r *http.Request) (*http.Response, error) {
	reused := false
	r = r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
	}))
	resp, err := c.next.RoundTrip(r)
	if err != nil && !reused {
		err = fmt.Errorf("%w (%w)", err, errNewConn)
	}
	return resp, err
}

// neverAccepted reports whether err is a connection refused, or a new one
// closed (reset, or EOF) before any answer: one the kernel had queued in
// tagway's listen backlog when tagway closed its listener, which tagway
// never accepted. tagway itself never closes a connection that has sent a
// request without answering it (net/http's Shutdown waits for new
// connections as for active ones).
func neverAccepted(err error) bool {
	return strings.Contains(err.Error(), "connection refused") ||
		errors.Is(err, errNewConn) && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "EOF"))
}

// call sets key to value (absent: removes it) on res through surface.
func (l *load) call(surface, res, key, value string) (outcome, detail string) {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	switch surface {
	case "grpc":
		var failed map[string]*tagwayv1.ResourceFailure
		var err error
		if value == absent {
			var resp *tagwayv1.UntagResourcesResponse
			resp, err = l.grpc.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{res}, TagKeys: []string{key}})
			failed = resp.GetFailedResources()
		} else {
			var resp *tagwayv1.TagResourcesResponse
			resp, err = l.grpc.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: []string{res}, Tags: map[string]string{key: value}})
			failed = resp.GetFailedResources()
		}
		switch {
		case err == nil && len(failed) == 0:
			return outcomeAcked, ""
		case err == nil && failed[res].GetReason() == tagwayv1.FailureReason_FAILURE_REASON_STORE_UNAVAILABLE:
			return outcomeFailed, failed[res].GetMessage()
		case err == nil:
			return outcomeOther, failed[res].String()
		case status.Code(err) == codes.Unavailable && tagging.Info(err).GetReason() == tagging.ReasonStoreUnavailable:
			return outcomeFailed, err.Error()
		case status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), "connection refused"):
			return outcomeRefused, err.Error()
		case status.Code(err) == codes.Unavailable:
			return outcomeTransport, err.Error()
		}
		return outcomeOther, err.Error()
	case "aws":
		var failed map[string]rgtaFailure
		var err error
		if value == absent {
			var resp *rgta.UntagResourcesOutput
			resp, err = l.aws.UntagResources(ctx, &rgta.UntagResourcesInput{ResourceARNList: []string{res}, TagKeys: []string{key}})
			if resp != nil {
				failed = awsFailures(resp.FailedResourcesMap)
			}
		} else {
			var resp *rgta.TagResourcesOutput
			resp, err = l.aws.TagResources(ctx, &rgta.TagResourcesInput{ResourceARNList: []string{res}, Tags: map[string]string{key: value}})
			if resp != nil {
				failed = awsFailures(resp.FailedResourcesMap)
			}
		}
		var apiErr smithy.APIError
		switch {
		case err == nil && len(failed) == 0:
			return outcomeAcked, ""
		case err == nil && failed[res].code == "InternalServiceException" && failed[res].status == 500:
			return outcomeFailed, failed[res].message
		case err == nil:
			return outcomeOther, fmt.Sprint(failed)
		case errors.As(err, &apiErr) && (apiErr.ErrorCode() == "InternalServiceException" || apiErr.ErrorCode() == "ThrottlingException"):
			return outcomeFailed, err.Error()
		case neverAccepted(err):
			return outcomeRefused, err.Error()
		case errors.As(err, &apiErr):
			return outcomeOther, err.Error()
		}
		return outcomeTransport, err.Error()
	}
	id := strings.TrimPrefix(res, "arn:huaweicloud:organizations:::ou/")
	var err error
	if value == absent {
		_, err = l.hw.UntagResource(&model.UntagResourceRequest{ResourceId: id, Body: &model.UntagResourceReqBody{TagKeys: []string{key}}})
	} else {
		_, err = l.hw.TagResource(&model.TagResourceRequest{ResourceId: id, Body: &model.TagResourceReqBody{Tags: []model.TagDto{{Key: key, Value: value}}}})
	}
	var se *sdkerr.ServiceResponseError
	switch {
	case err == nil:
		return outcomeAcked, ""
	case errors.As(err, &se) && (se.StatusCode == 500 && se.ErrorCode == "Organizations.9500" || se.StatusCode == 429 && se.ErrorCode == "APIGW.0308"):
		return outcomeFailed, se.ErrorMessage
	case errors.As(err, &se):
		return outcomeOther, err.Error()
	case neverAccepted(err):
		return outcomeRefused, err.Error()
	}
	return outcomeTransport, err.Error()
}

type rgtaFailure struct {
	code, message string
	status        int32
}

func awsFailures(in map[string]types.FailureInfo) map[string]rgtaFailure {
	out := map[string]rgtaFailure{}
	for k, v := range in {
		out[k] = rgtaFailure{code: string(v.ErrorCode), message: aws.ToString(v.ErrorMessage), status: v.StatusCode}
	}
	return out
}

// checkErrors fails the test if a surface answered with an undocumented
// error, or, unless transportOK, if a call got no answer, or if a surface
// had no call acknowledged.
func (l *load) checkErrors(transportOK bool) {
	t := l.t
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("%d calls: %v; slowest by outcome: %v", l.ops.Load(), l.outcomes, l.slowest)
	for k, n := range l.outcomes {
		if strings.HasSuffix(k, "/"+outcomeOther) || !transportOK && strings.HasSuffix(k, "/"+outcomeTransport) {
			t.Errorf("%d calls of %s, such as: %s", n, k, l.examples[k])
		}
	}
	if l.outcomes["grpc/"+outcomeAcked] == 0 || l.outcomes["aws/"+outcomeAcked] == 0 || l.outcomes["huawei/"+outcomeAcked] == 0 {
		t.Errorf("a surface had no acknowledged call: %v", l.outcomes)
	}
}

// check fails the test if a surface answered with an undocumented error,
// and, unless transportOK, if a call got no answer; then it reads every
// touched key through gRPC (on tw, healthy again) and checks that its value
// is one the model allows.
func (l *load) check(tw *tagwaytest.Proc, transportOK bool) {
	t := l.t
	t.Helper()
	l.checkErrors(transportOK)
	l.mu.Lock()
	defer l.mu.Unlock()
	byResource := map[string][]string{}
	for id := range l.possible {
		res, key, _ := strings.Cut(id, "\x00")
		byResource[res] = append(byResource[res], key)
	}
	c := core(t, tw)
	names := slices.Sorted(func(yield func(string) bool) {
		for r := range byResource {
			if !yield(r) {
				return
			}
		}
	})
	for i := 0; i < len(names); i += 100 {
		batch := names[i:min(i+100, len(names))]
		resp, err := c.GetResourceTags(ctxT(t), &tagwayv1.GetResourceTagsRequest{Resources: batch})
		if err != nil {
			t.Fatal(err)
		}
		actual := map[string]map[string]string{}
		for _, r := range resp.GetResources() {
			actual[r.GetResource()] = map[string]string{}
			for _, tg := range r.GetTags() {
				actual[r.GetResource()][tg.GetKey()] = tg.GetValue()
			}
		}
		for _, res := range batch {
			for _, key := range byResource[res] {
				v, ok := actual[res][key]
				if !ok {
					v = absent
				}
				if p := l.possible[res+"\x00"+key]; !p[v] {
					t.Errorf("%s %s = %q; the acknowledged calls allow only %q", res, key, v, slices.Sorted(func(yield func(string) bool) {
						for x := range p {
							if !yield(x) {
								return
							}
						}
					}))
				}
			}
		}
	}
}
