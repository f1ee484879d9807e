package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// feedChange is what a test needs of one change, from either client.
type feedChange struct {
	resource, surface, operation, requestID, seq, token string
	raw                                                 map[string]any // the HTTP line
}

// grpcWatch is a gRPC watcher: its changes arrive on a channel.
type grpcWatch struct {
	changes chan feedChange
	errs    chan error
	cancel  context.CancelFunc
	first   string // the first message's token
}

func watchGRPC(t *testing.T, c tagwayv1.TaggingServiceClient, token string) *grpcWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := c.WatchTagChanges(ctx, &tagwayv1.WatchTagChangesRequest{ResumeToken: token})
	if err != nil {
		t.Fatal(err)
	}
	w := &grpcWatch{changes: make(chan feedChange, 100), errs: make(chan error, 1), cancel: cancel}
	m, err := stream.Recv()
	if err != nil {
		t.Fatalf("first message: %v", err)
	}
	w.first = m.GetResumeToken()
	go recvGRPC(stream, w)
	return w
}

func recvGRPC(stream grpc.ServerStreamingClient[tagwayv1.WatchTagChangesResponse], w *grpcWatch) {
	for {
		m, err := stream.Recv()
		if err != nil {
			w.errs <- err
			return
		}
		for _, wc := range m.GetChanges() {
			c := wc.GetChange()
			seq := ""
			for _, tg := range c.GetTags() {
				if tg.GetKey() == "seq" {
					seq = tg.GetValue()
				}
			}
			w.changes <- feedChange{resource: c.GetResource(), surface: c.GetSurface(), operation: c.GetOperation(), requestID: c.GetRequestId(), seq: seq, token: wc.GetResumeToken()}
		}
	}
}

// watchHTTP streams GET /v1/tag-changes; its changes arrive on a channel.
func watchHTTP(t *testing.T, tw *tagwaytest.Proc, token string) (chan feedChange, chan map[string]any, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	q := url.Values{}
	if token != "" {
		q.Set("resume-token", token)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tw.URL()+"/v1/tag-changes?"+q.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("GET /v1/tag-changes: %s", resp.Status)
	}
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || !strings.Contains(lines.Text(), `"progress":true`) {
		t.Fatalf("first line: %q", lines.Text())
	}
	changes, others := make(chan feedChange, 100), make(chan map[string]any, 10)
	go func() {
		defer resp.Body.Close()
		for lines.Scan() {
			var m map[string]any
			if json.Unmarshal(lines.Bytes(), &m) != nil {
				continue
			}
			d, ok := m["detail"].(map[string]any)
			if !ok {
				others <- m
				continue
			}
			tw := m["tagway"].(map[string]any)
			seq, _ := d["tags"].(map[string]any)["seq"].(string)
			changes <- feedChange{resource: m["resources"].([]any)[0].(string), surface: tw["surface"].(string), operation: tw["operation"].(string), requestID: tw["request-id"].(string), seq: seq, token: tw["resume-token"].(string), raw: m}
		}
	}()
	return changes, others, cancel
}

// take reads n changes, failing after 10 s.
func take(t *testing.T, ch chan feedChange, n int) []feedChange {
	t.Helper()
	var out []feedChange
	for len(out) < n {
		select {
		case c := <-ch:
			out = append(out, c)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d changes within 10 s: %v", len(out), n, out)
		}
	}
	return out
}

// wantSeqs checks that changes carry exactly the seqs want, once each.
func wantSeqs(t *testing.T, got []feedChange, want ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range got {
		if seen[c.seq] {
			t.Fatalf("seq %s twice: %v", c.seq, got)
		}
		seen[c.seq] = true
	}
	for _, s := range want {
		if !seen[s] {
			t.Fatalf("seq %s missing: %v", s, got)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want seqs %v", got, want)
	}
}

// TestFeedAcrossSurfaces: a gRPC watcher and an HTTP streaming client see
// the changes made through the AWS SDK, the Huawei SDK and gRPC, with their
// surface, operation and request id; both resume after a disconnect with
// no gap and no repeat; and every change is in the audit trail.
func TestFeedAcrossSurfaces(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		g, aw, hw := core(t, tw), awsClient(tw, region), huaweiClient(t, tw)
		gw := watchGRPC(t, g, "")
		hc, _, hcancel := watchHTTP(t, tw, "")
		ec2 := instance(1)
		ouName := "arn:huaweicloud:organizations:::ou/" + ou1
		seq := 0
		change := func(via string) {
			seq++
			s := fmt.Sprint(seq)
			switch via {
			case "aws":
				tagAWS(t, aw, []string{ec2}, map[string]string{"seq": s})
			case "huawei":
				tagHW(t, hw, ou1, "seq", s)
			case "grpc":
				if _, err := g.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{ec2}, Tags: map[string]string{"seq": s}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		change("aws")
		change("huawei")
		change("grpc")
		// Changes that change nothing stream nothing.
		tagAWS(t, aw, []string{ec2}, map[string]string{"seq": "3"})
		if _, err := aw.UntagResources(ctxT(t), &rgta.UntagResourcesInput{ResourceARNList: []string{ec2}, TagKeys: []string{"absent"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := hw.UntagResource(&model.UntagResourceRequest{ResourceId: ou1, Body: &model.UntagResourceReqBody{TagKeys: []string{"absent"}}}); err != nil {
			t.Fatal(err)
		}
		for _, got := range [][]feedChange{take(t, gw.changes, 3), take(t, hc, 3)} {
			wantSeqs(t, got, "1", "2", "3")
			for _, c := range got {
				want := map[string]string{"1": "aws TagResources " + ec2, "2": "huawei TagResource " + ouName, "3": "grpc TagResources " + ec2}[c.seq]
				if c.surface+" "+c.operation+" "+c.resource != want || c.requestID == "" || c.token == "" {
					t.Fatalf("change %+v, want %s", c, want)
				}
			}
		}
		// The EventBridge shape.
		change("aws")
		ev := take(t, hc, 1)[0].raw
		d := ev["detail"].(map[string]any)
		if ev["source"] != "aws.tag" || ev["detail-type"] != "Tag Change on Resource" || d["service"] != "ec2" || d["resource-type"] != "instance" || fmt.Sprint(d["changed-tag-keys"]) != "[seq]" {
			t.Fatalf("event: %v", ev)
		}
		last := take(t, gw.changes, 1)[0]

		// Disconnect both; change through every surface; resume.
		gw.cancel()
		hcancel()
		change("huawei")
		change("grpc")
		change("aws")
		gw2 := watchGRPC(t, g, last.token)
		wantSeqs(t, take(t, gw2.changes, 3), "5", "6", "7")
		// The same request resumes from the same position on either
		// surface: a gRPC token works over HTTP.
		hc2, _, _ := watchHTTP(t, tw, last.token)
		wantSeqs(t, take(t, hc2, 3), "5", "6", "7")
		hc3, _, _ := watchHTTP(t, tw, ev["tagway"].(map[string]any)["resume-token"].(string))
		wantSeqs(t, take(t, hc3, 3), "5", "6", "7")
		select {
		case c := <-gw2.changes:
			t.Fatalf("a repeat: %v", c)
		case <-time.After(300 * time.Millisecond):
		}

		// The audit trail has every change, from each surface (the
		// journal is written in the background: wait for it).
		var bySurface map[string]int
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			out, err := g.ListAuditEvents(ctxT(t), &tagwayv1.ListAuditEventsRequest{PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			bySurface = map[string]int{}
			for _, e := range out.GetEvents() {
				if e.GetEventName() == "TagResources" || e.GetEventName() == "TagResource" || e.GetEventName() == "UntagResources" || e.GetEventName() == "UntagResource" {
					bySurface[e.GetEventSource()]++
					if e.GetRequestId() == "" || e.GetPrincipal() != "anonymous" || len(e.GetResources()) == 0 {
						t.Fatalf("audit record %v", e)
					}
				}
			}
			if bySurface["aws"] >= 4 && bySurface["huawei"] >= 3 && bySurface["grpc"] >= 2 || time.Now().After(deadline) {
				break
			}
		}
		if bySurface["aws"] < 4 || bySurface["huawei"] < 3 || bySurface["grpc"] < 2 {
			t.Fatalf("audit records by surface: %v", bySurface)
		}
	})
}

// TestFeedRetention: a resume token older than the retention gets the
// re-list error, over gRPC (OUT_OF_RANGE) and HTTP.
func TestFeedRetention(t *testing.T) {
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		g := core(t, tw)
		w := watchGRPC(t, g, "")
		token := w.first
		w.cancel()
		time.Sleep(6 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stream, err := g.WatchTagChanges(ctx, &tagwayv1.WatchTagChangesRequest{ResumeToken: token})
		if err == nil {
			for err == nil {
				_, err = stream.Recv()
			}
		}
		if status.Code(err) != codes.OutOfRange || !strings.Contains(status.Convert(err).Message(), "list the resources again") {
			t.Fatalf("an expired token: %v", err)
		}
		// Over HTTP, like a Kubernetes watch: 410 Gone.
		resp, err := http.Get(tw.URL() + "/v1/tag-changes?resume-token=" + url.QueryEscape(token))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusGone || !strings.Contains(fmt.Sprint(body), "RESUME_TOKEN_EXPIRED") {
			t.Fatalf("HTTP: %s %v", resp.Status, body)
		}
	}, "--feed-retention", "5s")
}
