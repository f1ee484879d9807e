package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/server"
)

// bodyDialect reads each body, answers 408 when it does not arrive in
// time, and otherwise waits for hold (if set) before answering its length.
func bodyDialect(hold chan struct{}) dialect {
	return dialect{func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		if hold != nil {
			<-hold
		}
		fmt.Fprint(w, len(b))
	}}
}

// TestSlowBodiesAreCut sends a body a byte at a time: the server gives it
// BodyTimeout, then answers, instead of holding the connection forever.
func TestSlowBodiesAreCut(t *testing.T) {
	h := start(t, server.Config{Dialects: []server.Dialect{bodyDialect(nil)}, Limits: server.Limits{BodyTimeout: 300 * time.Millisecond}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := io.ReadAll(io.LimitReader(conn, 12))
	if err != nil || string(line) != "HTTP/1.1 408" {
		t.Fatalf("answer to a trickled body = %q, %v", line, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("answered after %v", d)
	}
	// A prompt body on a fresh connection is served as usual.
	resp, err := http.Post(h.base+"/a", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "5" {
		t.Fatalf("prompt body: %q", b)
	}
}

// TestInflightBodiesAreBounded holds one maximal body in a handler: a
// second one must wait, and be refused as busy when it cannot get in, and
// get in once the first is done.
func TestInflightBodiesAreBounded(t *testing.T) {
	hold := make(chan struct{})
	h := start(t, server.Config{
		Dialects: []server.Dialect{bodyDialect(hold)},
		Limits:   server.Limits{BodyBytes: 1 << 20, InflightBodyBytes: 1 << 20, BodyTimeout: 300 * time.Millisecond},
	})
	big := bytes.Repeat([]byte("x"), 1<<20)
	first := make(chan string, 1)
	go func() {
		resp, err := http.Post(h.base+"/a", "text/plain", bytes.NewReader(big))
		if err != nil {
			first <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		first <- string(b)
	}()
	time.Sleep(100 * time.Millisecond) // the first holds its share
	resp, err := http.Post(h.base+"/a", "text/plain", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || string(b) != "busy" {
		t.Fatalf("second maximal body = %d %q", resp.StatusCode, b)
	}
	close(hold)
	if got := <-first; got != fmt.Sprint(1<<20) {
		t.Fatalf("first = %q", got)
	}
	resp, err = http.Post(h.base+"/a", "text/plain", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != fmt.Sprint(1<<20) {
		t.Fatalf("after the first: %d %q", resp.StatusCode, b)
	}
}

// rawCodec sends the bytes it is given as the message, so that a test can
// send what no generated client would.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

var _ encoding.Codec = rawCodec{}

// TestInvalidUTF8IsTheCallersMistake sends a GetResourceTags request whose
// resource name is not UTF-8: INVALID_ARGUMENT, not INTERNAL.
func TestInvalidUTF8IsTheCallersMistake(t *testing.T) {
	h := start(t, server.Config{})
	msg := append([]byte{0x0a, 3}, 'a', 0xff, 'b') // field 1, 3 bytes
	var out []byte
	err := h.conn.Invoke(context.Background(), tagwayv1.TaggingService_GetResourceTags_FullMethodName, msg, &out, grpc.ForceCodec(rawCodec{}))
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	// A well-formed request still works after it.
	if _, err := tagwayv1.NewTaggingServiceClient(h.conn).GetResourceTags(context.Background(), &tagwayv1.GetResourceTagsRequest{Resources: []string{"arn:aws:s3:::b"}}); err != nil {
		t.Fatal(err)
	}
}

// TestGRPCMetadataIsBounded sends 1 MiB of metadata: refused.
func TestGRPCMetadataIsBounded(t *testing.T) {
	h := start(t, server.Config{})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-big", strings.Repeat("a", 1<<20))
	_, err := tagwayv1.NewTaggingServiceClient(h.conn).GetResourceTags(ctx, &tagwayv1.GetResourceTagsRequest{Resources: []string{"arn:aws:s3:::b"}})
	if err == nil {
		t.Fatal("1 MiB of metadata was accepted")
	}
}
