package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/access"
	"github.com/tagway/tagway/internal/dialect/aws"
	"github.com/tagway/tagway/internal/dialect/huawei"
	"github.com/tagway/tagway/internal/principals"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

// benchCore returns the access layer over a core on the memory store, and
// the auth file of the e2e principals.
func benchCore(b *testing.B) (tagwayv1.TaggingServiceServer, *principals.Source) {
	b.Helper()
	svc, err := tagging.New(context.Background(), memstore.New())
	if err != nil {
		b.Fatal(err)
	}
	src, err := principals.Open(writeAuthFile(&testing.T{}, authFile(skA, tokenA)))
	if err != nil {
		b.Fatal(err)
	}
	return access.New(svc), src
}

// serveBench replays req, a fresh copy each time, through h.
func serveBench(b *testing.B, h http.Handler, req *http.Request, body []byte) {
	b.ReportAllocs()
	for b.Loop() {
		r := req.Clone(context.Background())
		r.Body = http.NoBody
		if len(body) > 0 {
			r.Body = ioNopCloser(body)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body)
		}
	}
}

// BenchmarkAuthAWSUntag compares an UntagResources of 20 ARNs through the
// AWS dialect without an auth file (open) and with one (signed: the same
// request, SigV4-verified), in one run: the ratio is the cost of
// verification.
func BenchmarkAuthAWSUntag(b *testing.B) {
	core, src := benchCore(b)
	var arns []string
	for i := range 20 {
		arns = append(arns, fmt.Sprintf(`"arn:aws:ec2:us-east-1:%s:instance/i-%d"`, acctA, i))
	}
	body := []byte(`{"ResourceARNList":[` + strings.Join(arns, ",") + `],"TagKeys":["absent"]}`)
	signedAt := time.Now()
	req := httptest.NewRequest(http.MethodPost, "http://tagway.local/", bytes.NewReader(body))
	req.Header.Set("Content-Type", aws.ContentType)
	req.Header.Set("X-Amz-Target", aws.TargetPrefix+"UntagResources")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), awssdk.Credentials{AccessKeyID: akA, SecretAccessKey: skA}, req,
		hex.EncodeToString(sum[:]), aws.SigningName, region, signedAt); err != nil {
		b.Fatal(err)
	}
	b.Run("open", func(b *testing.B) {
		serveBench(b, aws.New(core, aws.Auth{AllowRemote: true}), req, body)
	})
	b.Run("signed", func(b *testing.B) {
		serveBench(b, aws.New(core, aws.Auth{Principals: src, Now: func() time.Time { return signedAt }}), req, body)
	})
}

// BenchmarkAuthHuaweiUntag is BenchmarkAuthAWSUntag for an UntagResource
// of the Huawei dialect, signed by the Huawei SDK.
func BenchmarkAuthHuaweiUntag(b *testing.B) {
	core, src := benchCore(b)
	signedAt := time.Now()
	path := "/v1/organizations/resources/ou-1/untag"
	signed := hwSignWithSDK(&testing.T{}, "http://tagway.local", hwOracleCase{
		method: http.MethodPost, path: path, headers: map[string]string{"Content-Type": "application/json"},
		body: map[string]any{"tag_keys": []string{"absent"}}, date: signedAt, ak: hwAKA, sk: hwSKA,
	})
	body, err := readAll(signed)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "http://tagway.local"+path, bytes.NewReader(body))
	req.Header = signed.Header.Clone()
	b.Run("open", func(b *testing.B) {
		serveBench(b, huawei.New(core, huawei.Auth{AllowRemote: true}), req, body)
	})
	b.Run("signed", func(b *testing.B) {
		serveBench(b, huawei.New(core, huawei.Auth{Principals: src, Now: func() time.Time { return signedAt }}), req, body)
	})
}

func ioNopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}
