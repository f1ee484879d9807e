package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	rgta "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/smithy-go"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/global"
	org "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"

	"github.com/tagway/tagway/internal/tagwaytest"
)

// The principals of authFile. Every secret here is checked to be absent
// from tagway's log.
const (
	acctA, acctB     = "111111111111", "222222222222"
	domainA, domainB = "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "1b2c3d4e5f60718293a4b5c6d7e8f90a"

	akA, skA          = "AKIDTEAMA000000000001", "team-a-aws-secret-Zq1"
	akB, skB          = "AKIDTEAMB000000000001", "team-b-aws-secret-Zq2"
	akTemp, skTemp    = "ASIATEMPA00000000001", "team-a-temp-secret-Zq3"
	sessionToken      = "team-a-session-token-Zq4"
	akExpired         = "ASIAEXPIRED000000001"
	skExpired, tokExp = "expired-secret-Zq5", "expired-token-Zq6"
	hwAKA, hwSKA      = "HWTEAMA0000000000001", "team-a-huawei-secret-Zq7"
	hwAKB, hwSKB      = "HWTEAMB0000000000001", "team-b-huawei-secret-Zq8"
	tokenA, tokenB    = "team-a-grpc-token-Zq9", "team-b-grpc-token-Zr0"
	tokenOps          = "ops-grpc-token-Zr1"
	spiffeA           = "spiffe://example.org/ns/a/sa/tagger"
	wrongSecret       = "not-the-secret-Zr2"
	wrongSessionToken = "not-the-session-token-Zr3"
	strangerAK        = "AKIDSTRANGER00000001"
	strangerHuaweiAK  = "HWSTRANGER0000000001"
	strangerGRPCToken = "stranger-token-Zr4"
	rotatedTokenA     = "team-a-grpc-token-rotated-Zr5"
	rotatedSecretA    = "team-a-aws-secret-rotated-Zr6"
)

// secrets are the values that must never appear in a log line.
var secrets = []string{skA, skB, skTemp, sessionToken, skExpired, tokExp, hwSKA, hwSKB, tokenA, tokenB, tokenOps,
	wrongSecret, wrongSessionToken, strangerGRPCToken, rotatedTokenA, rotatedSecretA}

// authFile returns the auth file, with team-a's AWS secret and gRPC token.
func authFile(secretA, grpcTokenA string) string {
	return fmt.Sprintf(`principals:
  - name: team-a
    aws:
      account: "%s"
      access_keys:
        - id: %s
          secret: %s
        - id: %s
          secret: %s
          session_token: %s
        - id: %s
          secret: %s
          session_token: %s
          expires_at: 2020-01-01T00:00:00Z
    huawei:
      domain_id: "%s"
      access_keys:
        - ak: %s
          sk: %s
    grpc:
      tokens: ["%s"]
      identities: ["%s"]
  - name: team-b
    aws:
      account: "%s"
      access_keys: [{id: %s, secret: %s}]
    huawei:
      domain_id: "%s"
      access_keys: [{ak: %s, sk: %s}]
    grpc:
      tokens: ["%s"]
  - name: ops
    admin: true
    grpc:
      tokens: ["%s"]
`, acctA, akA, secretA, akTemp, skTemp, sessionToken, akExpired, skExpired, tokExp,
		domainA, hwAKA, hwSKA, grpcTokenA, spiffeA,
		acctB, akB, skB, domainB, hwAKB, hwSKB, tokenB, tokenOps)
}

// writeAuthFile writes content to a new auth file and returns its path.
func writeAuthFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth.yaml")
	replaceFile(t, path, content)
	return path
}

// replaceFile replaces path atomically, as a mounted Secret changes.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// authStores runs fn on a tagway with authFile, on each store, and checks
// afterwards that its log holds no secret.
func authStores(t *testing.T, fn func(t *testing.T, tw *tagwaytest.Proc), extra ...string) {
	path := writeAuthFile(t, authFile(skA, tokenA))
	eachStore(t, func(t *testing.T, tw *tagwaytest.Proc) {
		fn(t, tw)
		noSecretsLogged(t, tw.Stop(t, syscall.SIGTERM))
	}, append([]string{"--auth-file", path, "--log-level", "debug"}, extra...)...)
}

// noSecretsLogged fails when a log line holds a secret or a signature.
func noSecretsLogged(t *testing.T, lines []string) {
	t.Helper()
	for _, l := range lines {
		for _, s := range secrets {
			if strings.Contains(l, s) {
				t.Errorf("the log shows a secret: %s", l)
			}
		}
		if strings.Contains(l, "Signature=") {
			t.Errorf("the log shows a signature: %s", l)
		}
	}
}

// awsAs is an SDK client signing with the given key for region, over hc
// when given.
func awsAs(tw *tagwaytest.Proc, region, ak, sk, token string, hc ...*http.Client) *rgta.Client {
	o := rgta.Options{
		Region:           region,
		BaseEndpoint:     aws.String(tw.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider(ak, sk, token),
		RetryMaxAttempts: 1,
	}
	if len(hc) > 0 {
		o.HTTPClient = hc[0]
	}
	return rgta.New(o)
}

// tagInput tags arn with by=sdk.
func tagInput(arn string) *rgta.TagResourcesInput {
	return &rgta.TagResourcesInput{ResourceARNList: []string{arn}, Tags: map[string]string{"by": "sdk"}}
}

// awsCode returns the AWS error code of err, "OK" when nil.
func awsCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return "OK"
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("not an API error: %v", err)
	}
	if api.ErrorMessage() == "" {
		t.Fatalf("%s without a message", api.ErrorCode())
	}
	return api.ErrorCode()
}

func instanceOf(account, id string) string {
	return "arn:aws:ec2:us-east-1:" + account + ":instance/" + id
}

func TestAuthAWSSDK(t *testing.T) {
	authStores(t, func(t *testing.T, tw *tagwaytest.Proc) {
		a := instanceOf(acctA, "i-auth")
		tag := func(c *rgta.Client, arn string) error {
			_, err := c.TagResources(ctxT(t), &rgta.TagResourcesInput{ResourceARNList: []string{arn}, Tags: map[string]string{"team": "a"}})
			return err
		}
		for _, tc := range []struct {
			name   string
			client *rgta.Client
			want   string
		}{
			{"right key", awsAs(tw, region, akA, skA, ""), "OK"},
			{"wrong secret", awsAs(tw, region, akA, wrongSecret, ""), "InvalidSignatureException"},
			{"unknown key", awsAs(tw, region, strangerAK, skA, ""), "UnrecognizedClientException"},
			{"session token", awsAs(tw, region, akTemp, skTemp, sessionToken), "OK"},
			{"session token missing", awsAs(tw, region, akTemp, skTemp, ""), "UnrecognizedClientException"},
			{"wrong session token", awsAs(tw, region, akTemp, skTemp, wrongSessionToken), "UnrecognizedClientException"},
			{"session token on a permanent key", awsAs(tw, region, akA, skA, sessionToken), "UnrecognizedClientException"},
			{"expired key", awsAs(tw, region, akExpired, skExpired, tokExp), "ExpiredTokenException"},
			{"region that is not one", awsAs(tw, "moon", akA, skA, ""), "InvalidSignatureException"},
			{"no signature", rgta.New(rgta.Options{Region: region, BaseEndpoint: aws.String(tw.URL()), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1}), "MissingAuthenticationTokenException"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := awsCode(t, tag(tc.client, a)); got != tc.want {
					t.Fatalf("TagResources: %s, want %s", got, tc.want)
				}
			})
		}
		// The key of another account may not touch team-a's resources, and
		// team-a's reads never show team-b's.
		b := awsAs(tw, region, akB, skB, "")
		if got := awsCode(t, tag(b, a)); got != "InvalidParameterException" {
			t.Fatalf("team-b tagging team-a's ARN: %s", got)
		}
		if err := tag(b, instanceOf(acctB, "i-b")); err != nil {
			t.Fatal(err)
		}
		ca := awsAs(tw, region, akA, skA, "")
		if got := tagsAWS(t, ca, a); got["team"] != "a" {
			t.Fatalf("team-a's tags: %v", got)
		}
		if got := tagsAWS(t, b, a); got != nil {
			t.Fatalf("team-b reads team-a's resource: %v", got)
		}
		keys, err := b.GetTagValues(ctxT(t), &rgta.GetTagValuesInput{Key: aws.String("team")})
		if err != nil || len(keys.TagValues) != 1 {
			t.Fatalf("team-b's values: %v, %v", keys, err)
		}
		// The region the key signed for is the only one it sees.
		if got := awsCode(t, tag(awsAs(tw, "eu-west-1", akA, skA, ""), a)); got != "InvalidParameterException" {
			t.Fatalf("tagging a us-east-1 ARN from eu-west-1: %s", got)
		}
	})
}

// signedAWS returns an UntagResources request signed with the SDK's signer
// at signingTime.
func signedAWS(t *testing.T, tw *tagwaytest.Proc, body string, signingTime time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, tw.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "ResourceGroupsTaggingAPI_20170126.UntagResources")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: akA, SecretAccessKey: skA}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "tagging", region, signingTime); err != nil {
		t.Fatal(err)
	}
	return req
}

// sendAWS sends req and returns the status, the error type and message.
func sendAWS(t *testing.T, req *http.Request) (int, string, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("x-amzn-RequestId") == "" || resp.Header.Get("Date") == "" {
		t.Fatalf("response without x-amzn-RequestId or Date: %v", resp.Header)
	}
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), string(b)
}

func TestAuthAWSRawRequests(t *testing.T) {
	authStores(t, func(t *testing.T, tw *tagwaytest.Proc) {
		body := `{"ResourceARNList":["` + instanceOf(acctA, "i-raw") + `"],"TagKeys":["k"]}`
		if code, typ, msg := sendAWS(t, signedAWS(t, tw, body, time.Now())); code != 200 {
			t.Fatalf("a signed request: %d %s %s", code, typ, msg)
		}
		// The body changed after signing: same length, other ARN.
		req := signedAWS(t, tw, body, time.Now())
		req.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "i-raw", "i-bad", 1)))
		if code, typ, _ := sendAWS(t, req); code != 400 || typ != "InvalidSignatureException" {
			t.Fatalf("changed body: %d %s", code, typ)
		}
		for _, skew := range []time.Duration{-6 * time.Minute, 6 * time.Minute} {
			code, typ, msg := sendAWS(t, signedAWS(t, tw, body, time.Now().Add(skew)))
			if code != 400 || typ != "InvalidSignatureException" || !strings.Contains(msg, "Signature") || !strings.Contains(msg, "5 min.") {
				t.Fatalf("clock %v off: %d %s %s", skew, code, typ, msg)
			}
		}
		// A signed X-Amz-Target may not be swapped for another operation.
		req = signedAWS(t, tw, `{}`, time.Now())
		req.Header.Set("X-Amz-Target", "ResourceGroupsTaggingAPI_20170126.GetTagKeys")
		if code, typ, _ := sendAWS(t, req); code != 400 || typ != "InvalidSignatureException" {
			t.Fatalf("swapped target: %d %s", code, typ)
		}
		req, _ = http.NewRequest(http.MethodPost, tw.URL()+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "ResourceGroupsTaggingAPI_20170126.UntagResources")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+akA+"/20261126/us-east-1/tagging/aws4_request, SignedHeaders=host;x-amz-date")
		if code, typ, msg := sendAWS(t, req); code != 400 || typ != "IncompleteSignatureException" || !strings.Contains(msg, "Signature") {
			t.Fatalf("header without a signature: %d %s %s", code, typ, msg)
		}
	})
}

// huaweiAs is an SDK client with the given AK/SK and, when set, domain id.
func huaweiAs(t *testing.T, tw *tagwaytest.Proc, ak, sk, domain string) *org.OrganizationsClient {
	t.Helper()
	b := global.NewCredentialsBuilder().WithAk(ak).WithSk(sk)
	if domain != "" {
		b = b.WithDomainId(domain)
	}
	cred, err := b.SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := org.OrganizationsClientBuilder().WithEndpoints([]string{tw.URL()}).WithCredential(cred).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return org.NewOrganizationsClient(hc)
}

func TestAuthHuaweiSDK(t *testing.T) {
	authStores(t, func(t *testing.T, tw *tagwaytest.Proc) {
		tag := func(c *org.OrganizationsClient, id string, kv ...string) error {
			_, err := c.TagResource(&model.TagResourceRequest{ResourceId: id, Body: &model.TagResourceReqBody{Tags: hwTags(kv...)}})
			return err
		}
		a, b := huaweiAs(t, tw, hwAKA, hwSKA, ""), huaweiAs(t, tw, hwAKB, hwSKB, domainB)
		if err := tag(a, ou1, "owner", "a"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			client *org.OrganizationsClient
		}{
			{"wrong SK", huaweiAs(t, tw, hwAKA, wrongSecret, "")},
			{"unknown AK", huaweiAs(t, tw, strangerHuaweiAK, hwSKA, "")},
			{"another account's domain id", huaweiAs(t, tw, hwAKA, hwSKA, domainB)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantHWError(t, tag(tc.client, ou1, "owner", "x"), 401, "APIGW.0301")
			})
		}
		// Two organizations hold two resources under one OU id.
		if err := tag(b, ou1, "owner", "b"); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(listHW(t, a, ou1, 10), ","); got != "owner=a" {
			t.Fatalf("team-a's OU: %s", got)
		}
		if got := strings.Join(listHW(t, b, ou1, 10), ","); got != "owner=b" {
			t.Fatalf("team-b's OU: %s", got)
		}
		if err := tag(b, ou2, "only", "b"); err != nil {
			t.Fatal(err)
		}
		for c, want := range map[*org.OrganizationsClient]string{a: ou1, b: ou2 + "," + ou1} {
			if ids, _ := instancesHW(t, c, "organizations:ous", &model.ResourceInstanceReqBody{}, 100); strings.Join(ids, ",") != want {
				t.Fatalf("instances %v, want %s", ids, want)
			}
		}
		// A request signed with a date 16 minutes old.
		req := signedHuawei(t, tw, hwAKA, hwSKA, "/v1/organizations/resources/"+ou1+"/untag", map[string]any{"tag_keys": []string{"owner"}}, time.Now().Add(-16*time.Minute))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(msg), "APIGW.0301") || !strings.Contains(string(msg), "X-Sdk-Date") || resp.Header.Get("X-Request-Id") == "" {
			t.Fatalf("stale X-Sdk-Date: %d %s", resp.StatusCode, msg)
		}
		if got := strings.Join(listHW(t, a, ou1, 10), ","); got != "owner=a" {
			t.Fatalf("a refused untag changed the OU: %s", got)
		}
	})
}

// signedHuawei returns a POST signed by the Huawei SDK's own signer with
// X-Sdk-Date set to date.
func signedHuawei(t *testing.T, tw *tagwaytest.Proc, ak, sk, path string, body any, date time.Time) *http.Request {
	t.Helper()
	return hwSignWithSDK(t, tw.URL(), hwOracleCase{
		method: http.MethodPost, path: path, headers: map[string]string{"Content-Type": "application/json"},
		body: body, date: date, ak: ak, sk: sk,
	})
}

// nonLoopback returns an IPv4 address of this machine other than loopback,
// or skips the test when it has none.
func nonLoopback(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no address but loopback, so no remote peer can be made")
	return ""
}
