package e2e

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
)

// TestUnixSockets serves both ports on Unix sockets, as a sidecar does,
// and drives them with the gRPC client and the AWS SDK: a tag written over
// one is read over the other, a second tagway on the same sockets is
// refused, and the socket files are gone once tagway stops.
func TestUnixSockets(t *testing.T) {
	dir := t.TempDir()
	grpcSock, httpSock := filepath.Join(dir, "grpc.sock"), filepath.Join(dir, "http.sock")
	args := []string{"--grpc-addr", "unix://" + grpcSock, "--http-addr", "unix://" + httpSock}
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", httpSock)
	}}}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := hc.Get("http://tagway/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz over the socket: %v", err)
		}
	}

	conn, err := grpc.NewClient("unix://"+grpcSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	arn := instance(7)
	if _, err := tagwayv1.NewTaggingServiceClient(conn).TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{arn}, Tags: map[string]string{"via": "grpc"}}); err != nil {
		t.Fatalf("gRPC over the socket (a local caller without an auth file): %v", err)
	}
	c := rgta.New(rgta.Options{
		Region: region, BaseEndpoint: aws.String("http://tagway"), HTTPClient: hc, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
	})
	out, err := c.GetResources(ctxT(t), &rgta.GetResourcesInput{ResourceARNList: []string{arn}})
	if err != nil || len(out.ResourceTagMappingList) != 1 || aws.ToString(out.ResourceTagMappingList[0].Tags[0].Value) != "grpc" {
		t.Fatalf("AWS SDK over the socket: %+v, %v", out, err)
	}

	// A second tagway on the same sockets is refused: they are in use.
	second, err := exec.Command(binary, args...).CombinedOutput()
	if err == nil || !strings.Contains(string(second), grpcSock+" is in use") {
		t.Errorf("a second tagway on live sockets: %v: %s", err, second)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("tagway did not stop")
	}
	for _, p := range []string{grpcSock, httpSock} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
}
