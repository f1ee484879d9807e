package feedhttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/access"
	"github.com/tagway/tagway/internal/feedhttp"
	"github.com/tagway/tagway/internal/grpcauth"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
	"github.com/tagway/tagway/internal/watch"
)

func TestEventBridgeShape(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, err := tagging.New(ctx, memstore.New(), tagging.WithWatch(watch.Options{Sweep: 50 * time.Millisecond, Progress: time.Hour, Skew: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	core := access.New(svc)
	var refused []identity.Caller
	h := feedhttp.New(ctx, core, (&grpcauth.Authenticator{}).Authenticate, func(_ context.Context, c identity.Caller, _ error) { refused = append(refused, c) })
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + feedhttp.Path + "?account=111111111111&service=ec2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() map[string]any {
		if !lines.Scan() {
			t.Fatalf("stream ended: %v", lines.Err())
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if first := next(); first["tagway"].(map[string]any)["progress"] != true {
		t.Fatalf("first line: %v", first)
	}
	actx := identity.NewContext(ctx, identity.Caller{Surface: identity.SurfaceAWS, Operation: "TagResources", RequestID: "r-1"})
	arn := "arn:aws:ec2:us-east-1:111111111111:instance/i-1"
	for _, a := range []string{"arn:aws:ec2:us-east-1:222222222222:instance/i-1", arn} {
		if _, err := core.TagResources(actx, &tagwayv1.TagResourcesRequest{Resources: []string{a}, Tags: map[string]string{"env": "prod"}}); err != nil {
			t.Fatal(err)
		}
	}
	e := next()
	d := e["detail"].(map[string]any)
	tw := e["tagway"].(map[string]any)
	if e["detail-type"] != "Tag Change on Resource" || e["source"] != "aws.tag" || e["account"] != "111111111111" || e["region"] != "us-east-1" ||
		e["resources"].([]any)[0] != arn || d["service"] != "ec2" || d["resource-type"] != "instance" ||
		d["changed-tag-keys"].([]any)[0] != "env" || d["tags"].(map[string]any)["env"] != "prod" || d["version"].(float64) <= 0 ||
		tw["resume-token"] == "" || tw["surface"] != "aws" || tw["request-id"] != "r-1" {
		t.Fatalf("event: %v", e)
	}

	// A bad token fails before the stream starts, in JSON.
	bad, err := http.Get(srv.URL + feedhttp.Path + "?resume-token=nope")
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad token: %d", bad.StatusCode)
	}
	unknown, err := http.Get(srv.URL + feedhttp.Path + "?acount=1")
	if err != nil {
		t.Fatal(err)
	}
	unknown.Body.Close()
	if unknown.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown parameter: %d", unknown.StatusCode)
	}
}
