package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/audit"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func caller(name string) context.Context {
	return identity.NewContext(context.Background(), identity.Caller{
		Principal: &principals.Principal{Name: name}, Surface: identity.SurfaceAWS, Credential: "AKIDEXAMPLE",
		Peer: "192.0.2.1:5555", RequestID: "req-" + name, Operation: "TagResources", UserAgent: "aws-sdk-go-v2",
	})
}

func open(t *testing.T, path string, stderr io.Writer, log *slog.Logger) *audit.Trail {
	t.Helper()
	tr, err := audit.Open(context.Background(), path, stderr, memstore.New(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestRecordsToSinkAndList(t *testing.T) {
	var sink bytes.Buffer
	tr := open(t, "-", &sink, slog.New(slog.DiscardHandler))
	req := &tagwayv1.TagResourcesRequest{Resources: []string{"arn:aws:s3:::a", "arn:aws:s3:::b"}, Tags: map[string]string{"env": secret}}
	resp := &tagwayv1.TagResourcesResponse{FailedResources: map[string]*tagwayv1.ResourceFailure{"arn:aws:s3:::b": {Reason: tagwayv1.FailureReason_FAILURE_REASON_TAG_LIMIT_EXCEEDED, Message: "too many"}}}
	tr.Call(caller("alice"), req, resp, nil)
	tr.Call(caller("bob"), &tagwayv1.UntagResourcesRequest{Resources: []string{"arn:aws:s3:::a"}, TagKeys: []string{"env"}}, nil, status.Error(codes.PermissionDenied, "outside the scope"))
	tr.Refused(context.Background(), identity.Caller{Surface: identity.SurfaceHuawei, Credential: "HWAK", Operation: "CreateTagResource"}, errors.New("APIGW.0301: Incorrect IAM authentication information"))

	lines := strings.Split(strings.TrimSpace(sink.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("sink: %q", sink.String())
	}
	if strings.Contains(sink.String(), secret) {
		t.Fatal("the audit log holds a tag value given as a secret")
	}
	var r audit.Record
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.EventSource != "aws" || r.EventName != "TagResources" || r.UserIdentity.PrincipalID != "alice" || r.UserIdentity.AccessKeyID != "AKIDEXAMPLE" ||
		r.SourceIPAddress != "192.0.2.1:5555" || r.UserAgent != "aws-sdk-go-v2" || len(r.Resources) != 2 || r.TagKeys[0] != "env" ||
		!strings.HasPrefix(r.Failed["arn:aws:s3:::b"], "FAILURE_REASON_TAG_LIMIT_EXCEEDED") || r.RequestID != "req-alice" || r.ErrorCode != "" {
		t.Fatalf("record: %+v", r)
	}
	if err := json.Unmarshal([]byte(lines[1]), &r); err != nil || r.ErrorCode != "PERMISSION_DENIED" {
		t.Fatalf("refused record: %+v %v", r, err)
	}
	if err := json.Unmarshal([]byte(lines[2]), &r); err != nil || r.ErrorCode != "UNAUTHENTICATED" || r.UserIdentity.Type != "Unknown" {
		t.Fatalf("unauthenticated record: %+v %v", r, err)
	}

	ctx := context.Background()
	tr.Flush(ctx)
	all, err := tr.ListAuditEvents(ctx, &tagwayv1.ListAuditEventsRequest{}, "")
	if err != nil || len(all.GetEvents()) != 3 {
		t.Fatalf("list: %v %v", all, err)
	}
	// Pages of one, by principal, by time.
	var names []string
	req2 := &tagwayv1.ListAuditEventsRequest{PageSize: 1}
	for {
		page, err := tr.ListAuditEvents(ctx, req2, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.GetEvents() {
			names = append(names, e.GetPrincipal())
		}
		if page.GetNextPageToken() == "" {
			break
		}
		req2.PageToken = page.GetNextPageToken()
	}
	if strings.Join(names, ",") != "alice,bob," {
		t.Fatalf("pages: %q", names)
	}
	bob, err := tr.ListAuditEvents(ctx, &tagwayv1.ListAuditEventsRequest{Principal: "bob"}, "")
	if err != nil || len(bob.GetEvents()) != 1 || bob.GetEvents()[0].GetErrorCode() != "PERMISSION_DENIED" {
		t.Fatalf("bob's: %v %v", bob, err)
	}
	if _, err := tr.ListAuditEvents(ctx, &tagwayv1.ListAuditEventsRequest{Principal: "bob"}, "alice"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("alice reading bob's: %v", err)
	}
	own, err := tr.ListAuditEvents(ctx, &tagwayv1.ListAuditEventsRequest{}, "alice")
	if err != nil || len(own.GetEvents()) != 1 {
		t.Fatalf("alice's own: %v %v", own, err)
	}
	future, err := tr.ListAuditEvents(ctx, &tagwayv1.ListAuditEventsRequest{StartTime: timestampIn(time.Hour)}, "")
	if err != nil || len(future.GetEvents()) != 0 {
		t.Fatalf("records from the future: %v %v", future, err)
	}
}

// TestSinkLoss checks that a removed log file is reported at ERROR, counted
// and reopened, and that a sink that fails to write is too.
func TestSinkLoss(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	path := filepath.Join(t.TempDir(), "audit.log")
	tr := open(t, path, nil, log)
	tr.Call(caller("alice"), &tagwayv1.TagResourcesRequest{Resources: []string{"arn:aws:s3:::a"}}, &tagwayv1.TagResourcesResponse{}, nil)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	tr.Call(caller("alice"), &tagwayv1.TagResourcesRequest{Resources: []string{"arn:aws:s3:::a"}}, &tagwayv1.TagResourcesResponse{}, nil)
	if !strings.Contains(logs.String(), "level=ERROR") || tr.Metrics.SinkFailures.Load() != 1 {
		t.Fatalf("removal not reported: %q, %d", logs.String(), tr.Metrics.SinkFailures.Load())
	}
	b, err := os.ReadFile(path)
	if err != nil || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("reopened file: %q %v", b, err)
	}

	logs.Reset()
	full := open(t, "-", failing{}, log)
	full.Call(caller("alice"), &tagwayv1.TagResourcesRequest{}, &tagwayv1.TagResourcesResponse{}, nil)
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "no space left") || full.Metrics.SinkFailures.Load() != 1 {
		t.Fatalf("a failing sink: %q", logs.String())
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) {
	return 0, errors.New("write audit.log: no space left on device")
}

func timestampIn(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(time.Now().Add(d)) }

// TestStoreLoss checks that records the store cannot keep are an ERROR
// and counted, and never delay the call.
func TestStoreLoss(t *testing.T) {
	var logs bytes.Buffer
	st := memstore.New()
	tr, err := audit.Open(context.Background(), "", nil, st, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	st.Close()
	for range 3 {
		tr.Call(caller("alice"), &tagwayv1.TagResourcesRequest{}, &tagwayv1.TagResourcesResponse{}, nil)
	}
	tr.Flush(context.Background())
	if tr.Metrics.StoreFailures.Load() != 3 || strings.Count(logs.String(), "level=ERROR") != 1 {
		t.Fatalf("store loss: %d, %q", tr.Metrics.StoreFailures.Load(), logs.String())
	}
}

// TestAuthenticateRefusedHasNoCaller checks that a gRPC call refused by
// authentication is recorded without being given a caller: the access log,
// which learns a call's principal from the callers its context is given,
// must show nobody ("-"), not "anonymous".
func TestAuthenticateRefusedHasNoCaller(t *testing.T) {
	var sink bytes.Buffer
	tr := open(t, "-", &sink, slog.New(slog.DiscardHandler))
	var given []identity.Caller
	ctx := identity.WithObserver(context.Background(), func(c identity.Caller) { given = append(given, c) })
	refuse := func(context.Context) (context.Context, error) {
		return nil, status.Error(codes.Unauthenticated, "bad token")
	}
	if _, err := audit.Authenticate(refuse, tr)(ctx); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("err = %v", err)
	}
	if len(given) != 0 {
		t.Fatalf("a refused call was given callers %+v", given)
	}
	var r audit.Record
	if err := json.Unmarshal(sink.Bytes(), &r); err != nil || r.ErrorCode != "UNAUTHENTICATED" || r.EventSource != "grpc" || r.RequestID == "" {
		t.Fatalf("record of the refused call: %+v %v", r, err)
	}
	accept := func(ctx context.Context) (context.Context, error) {
		return identity.NewContext(ctx, identity.Caller{Principal: &principals.Principal{Name: "ops"}}), nil
	}
	if _, err := audit.Authenticate(accept, tr)(ctx); err != nil || len(given) != 1 || given[0].Name() != "ops" {
		t.Fatalf("an accepted call: %v, callers %+v", err, given)
	}
}
