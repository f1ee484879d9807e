package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagwaytest"
)

// TestAuditAndFeedWithAuth: with an auth file, every change and every
// refused call of each surface is in the audit trail, under its principal,
// in the --audit-log sink (stderr here, so that authStores checks it holds
// no secret) and in ListAuditEvents, which shows a principal only its own
// records; and a principal's watch sees only its own account.
func TestAuditAndFeedWithAuth(t *testing.T) {
	authStores(t, func(t *testing.T, tw *tagwaytest.Proc) {
		ops, teamA := grpcAs(t, tw.GRPC, tokenOps), grpcAs(t, tw.GRPC, tokenA)

		// team-a watches; it must see its account's change only.
		wctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tokenA))
		defer cancel()
		stream, err := core(t, tw).WatchTagChanges(wctx, &tagwayv1.WatchTagChangesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("team-a's watch: %v", err)
		}

		mine, theirs := instanceOf(acctA, "i-audit"), instanceOf(acctB, "i-audit")
		if _, err := awsAs(tw, region, akB, skB, "").TagResources(ctxT(t), tagInput(theirs)); err != nil {
			t.Fatal(err)
		}
		if _, err := awsAs(tw, region, akA, skA, "").TagResources(ctxT(t), tagInput(mine)); err != nil {
			t.Fatal(err)
		}
		m, err := stream.Recv()
		if cs := m.GetChanges(); err != nil || len(cs) != 1 || cs[0].GetChange().GetResource() != mine || cs[0].GetChange().GetPrincipal() != "team-a" || cs[0].GetChange().GetSurface() != "aws" {
			t.Fatalf("team-a's watch got %v, %v", m, err)
		}

		// Refused: authorization (team-a tagging team-b's), and
		// authentication on every surface.
		if code := awsCode(t, func() error {
			_, err := awsAs(tw, region, akA, skA, "").TagResources(ctxT(t), tagInput(theirs))
			return err
		}()); code == "OK" {
			t.Fatal("team-a tagged team-b's resource")
		}
		if code := awsCode(t, func() error {
			_, err := awsAs(tw, region, akA, wrongSecret, "").TagResources(ctxT(t), tagInput(mine))
			return err
		}()); code == "OK" {
			t.Fatal("a wrong secret was accepted")
		}
		if _, err := huaweiAs(t, tw, hwAKA, wrongSecret, domainA).TagResource(&model.TagResourceRequest{ResourceId: ou1, Body: &model.TagResourceReqBody{Tags: hwTags("k", "v")}}); err == nil {
			t.Fatal("a wrong Huawei secret was accepted")
		}
		if _, err := grpcAs(t, tw.GRPC, strangerGRPCToken).TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{mine}, Tags: map[string]string{"k": "v"}}); err == nil {
			t.Fatal("a stranger's token was accepted")
		}
		req, _ := http.NewRequest(http.MethodGet, tw.URL()+"/v1/tag-changes", nil)
		req.Header.Set("Authorization", "Bearer "+strangerGRPCToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the feed with a stranger's token: %s", resp.Status)
		}

		var events []*tagwayv1.AuditEvent
		deadline := time.Now().Add(5 * time.Second)
		for {
			out, err := ops.ListAuditEvents(ctxT(t), &tagwayv1.ListAuditEventsRequest{PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			events = out.GetEvents()
			if len(events) >= 7 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		var got []string
		for _, e := range events {
			got = append(got, e.GetEventSource()+" "+e.GetEventName()+" "+e.GetPrincipal()+" "+e.GetErrorCode())
			if e.GetRequestId() == "" || e.GetEventId() == "" || e.GetSourceIpAddress() == "" {
				t.Errorf("record without ids or address: %v", e)
			}
		}
		joined := strings.Join(got, "\n")
		for _, want := range []string{
			"aws TagResources team-b ",
			"aws TagResources team-a ",
			"aws TagResources team-a PERMISSION_DENIED",
			"aws TagResources  UNAUTHENTICATED",
			"huawei TagResource  UNAUTHENTICATED",
			"grpc TagResources  UNAUTHENTICATED",
			"http WatchTagChanges  UNAUTHENTICATED",
		} {
			if !strings.Contains(joined, want) {
				t.Errorf("no audit record %q in:\n%s", want, joined)
			}
		}
		own, err := teamA.ListAuditEvents(ctxT(t), &tagwayv1.ListAuditEventsRequest{PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range own.GetEvents() {
			if e.GetPrincipal() != "team-a" {
				t.Fatalf("team-a sees %v", e)
			}
		}
		if len(own.GetEvents()) != 2 {
			t.Fatalf("team-a's records: %v", own.GetEvents())
		}
	}, "--audit-log", "-")
}
