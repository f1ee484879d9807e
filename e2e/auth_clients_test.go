package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/organizations/v1/model"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagwaytest"
	"github.com/tagway/tagway/internal/testpki"
)

// awsEnvAs is awsEnv with the given key.
func awsEnvAs(t *testing.T, ak, sk, token string) []string {
	env := []string{}
	for _, kv := range awsEnv(t) {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_ACCESS_KEY_ID="+ak, "AWS_SECRET_ACCESS_KEY="+sk)
	if token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+token)
	}
	return env
}

// botoAuthScript tags one ARN and prints the error code, or "OK".
const botoAuthScript = `
import sys, boto3, botocore
c = boto3.client("resourcegroupstaggingapi", endpoint_url=sys.argv[1],
                 config=botocore.config.Config(retries={"max_attempts": 1}))
try:
    c.tag_resources(ResourceARNList=[sys.argv[2]], Tags={"by": "boto3"})
    print("OK")
except botocore.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])
`

// TestAuthAWSCLIAndBoto3 checks that the CLI and boto3, which sign other
// headers than the Go SDK, get in with the right key and only with it.
func TestAuthAWSCLIAndBoto3(t *testing.T) {
	cli := requireTool(t, "/usr/bin/aws")
	python := requireTool(t, "/usr/bin/python3")
	authStores(t, func(t *testing.T, tw *tagwaytest.Proc) {
		arn := instanceOf(acctA, "i-clients")
		for _, tc := range []struct {
			name           string
			ak, sk, token  string
			want, wantCode string
		}{
			{"right key", akA, skA, "", "OK", ""},
			{"session token", akTemp, skTemp, sessionToken, "OK", ""},
			{"wrong secret", akA, wrongSecret, "", "InvalidSignatureException", ""},
			{"unknown key", strangerAK, skA, "", "UnrecognizedClientException", ""},
			{"wrong session token", akTemp, skTemp, wrongSessionToken, "UnrecognizedClientException", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				env := awsEnvAs(t, tc.ak, tc.sk, tc.token)
				stdout, stderr, code := runTool(t, env, cli, "resourcegroupstaggingapi", "--endpoint-url", tw.URL(), "--output", "json",
					"tag-resources", "--resource-arn-list", arn, "--tags", "by=cli")
				if tc.want == "OK" {
					if code != 0 || !strings.Contains(stdout, `"FailedResourcesMap": {}`) {
						t.Fatalf("aws CLI: exit %d\n%s%s", code, stdout, stderr)
					}
				} else if code != 254 || !strings.Contains(stderr, "("+tc.want+")") {
					t.Fatalf("aws CLI: exit %d, want %s\n%s", code, tc.want, stderr)
				}
				stdout, stderr, code = runTool(t, env, python, "-c", botoAuthScript, tw.URL(), arn)
				if code != 0 || strings.TrimSpace(stdout) != tc.want {
					t.Fatalf("boto3: exit %d, %q, want %s\n%s", code, stdout, tc.want, stderr)
				}
			})
		}
		got := tagsAWS(t, awsAs(tw, region, akA, skA, ""), arn)
		if got["by"] != "boto3" {
			t.Fatalf("tags after the clients: %v", got)
		}
	})
}

// grpcAs returns a core client on conn options, sending token when set.
func grpcAs(t *testing.T, addr string, token string, opts ...grpc.DialOption) tagwayv1.TaggingServiceClient {
	t.Helper()
	if len(opts) == 0 {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if token != "" {
		opts = append(opts, grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, o ...grpc.CallOption) error {
			return invoker(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), method, req, reply, cc, o...)
		}))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return tagwayv1.NewTaggingServiceClient(conn)
}

func grpcTag(t *testing.T, c tagwayv1.TaggingServiceClient, resource string) error {
	t.Helper()
	_, err := c.TagResources(ctxT(t), &tagwayv1.TagResourcesRequest{Resources: []string{resource}, Tags: map[string]string{"by": "grpc"}})
	return err
}

// wantCode checks a gRPC error's code and its ErrorInfo.
func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("error %v, want %v", err, code)
	}
	if code != codes.OK && tagging.Info(err) == nil {
		t.Fatalf("error %v has no ErrorInfo", err)
	}
}

func TestAuthGRPC(t *testing.T) {
	ca := testpki.NewCA(t, "tagway-e2e")
	server := ca.Server(t, "tagway")
	authStores(t, func(t *testing.T, tw *tagwaytest.Proc) {
		roots := x509.NewCertPool()
		pem, err := os.ReadFile(ca.CertFile)
		if err != nil {
			t.Fatal(err)
		}
		roots.AppendCertsFromPEM(pem)
		tlsWith := func(certs ...tls.Certificate) grpc.DialOption {
			return grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: certs}))
		}
		clientA := ca.Client(t, "team-a", spiffeA)
		certA, err := tls.LoadX509KeyPair(clientA.CertFile, clientA.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		unknown := ca.Client(t, "stranger", "spiffe://example.org/ns/z/sa/nobody")
		certZ, err := tls.LoadX509KeyPair(unknown.CertFile, unknown.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		own, other := instanceOf(acctA, "i-grpc"), instanceOf(acctB, "i-grpc")

		wantCode(t, grpcTag(t, grpcAs(t, tw.GRPC, "", tlsWith(certA)), own), codes.OK)
		wantCode(t, grpcTag(t, grpcAs(t, tw.GRPC, tokenA, tlsWith()), own), codes.OK)
		wantCode(t, grpcTag(t, grpcAs(t, tw.GRPC, "", tlsWith(certZ)), own), codes.Unauthenticated)
		wantCode(t, grpcTag(t, grpcAs(t, tw.GRPC, "", tlsWith()), own), codes.Unauthenticated)
		wantCode(t, grpcTag(t, grpcAs(t, tw.GRPC, strangerGRPCToken, tlsWith()), own), codes.Unauthenticated)
		wantCode(t, grpcTag(t, grpcAs(t, tw.GRPC, "", tlsWith(certA)), other), codes.PermissionDenied)
		wantCode(t, grpcTag(t, grpcAs(t, tw.GRPC, tokenOps, tlsWith()), other), codes.OK)

		// A certificate of another CA fails the handshake.
		stranger := testpki.NewCA(t, "stranger").Client(t, "evil", spiffeA)
		certE, err := tls.LoadX509KeyPair(stranger.CertFile, stranger.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		evil := grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "localhost",
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certE, nil }}))
		if err := grpcTag(t, grpcAs(t, tw.GRPC, "", evil), own); status.Code(err) != codes.Unavailable {
			t.Fatalf("a certificate of another CA: %v", err)
		}

		// Health and reflection need no credentials.
		conn, err := grpc.NewClient(tw.GRPC, tlsWith())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		h, err := healthpb.NewHealthClient(conn).Check(ctxT(t), &healthpb.HealthCheckRequest{})
		if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health: %v, %v", h, err)
		}
		rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		if r, err := rs.Recv(); err != nil || len(r.GetListServicesResponse().GetService()) == 0 {
			t.Fatalf("reflection: %v, %v", r, err)
		}

		// The REST port serves TLS with the same certificate.
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
		resp, err := hc.Get(tw.URL() + "/readyz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("readyz over TLS: %v, %v", resp, err)
		}
		resp.Body.Close()
		if got := tagsAWS(t, awsAs(tw, region, akA, skA, "", hc), own); got["by"] != "grpc" {
			t.Fatalf("AWS over TLS: %v", got)
		}
	}, "--tls-cert-file", server.CertFile, "--tls-key-file", server.KeyFile, "--tls-client-ca-file", ca.CertFile)
}

// TestAuthGRPCPlaintextToken checks bearer tokens without TLS.
func TestAuthGRPCPlaintextToken(t *testing.T) {
	authStores(t, func(t *testing.T, tw *tagwaytest.Proc) {
		wantCode(t, grpcTag(t, grpcAs(t, tw.GRPC, tokenB), instanceOf(acctB, "i-plain")), codes.OK)
		wantCode(t, grpcTag(t, grpcAs(t, tw.GRPC, ""), instanceOf(acctB, "i-plain")), codes.Unauthenticated)
		resp, err := grpcAs(t, tw.GRPC, tokenA).ListResources(ctxT(t), &tagwayv1.ListResourcesRequest{})
		if err != nil || len(resp.GetResources()) != 0 {
			t.Fatalf("team-a lists team-b's resources: %v, %v", resp, err)
		}
	})
}

// TestAuthReload rotates credentials in the auth file: on SIGHUP, and when
// the file changes on disk; a broken version keeps the one in force.
func TestAuthReload(t *testing.T) {
	path := writeAuthFile(t, authFile(skA, tokenA))
	tw := tagwaytest.Start(t, binary, "--auth-file", path)
	arn := instanceOf(acctA, "i-reload")
	awsOK := func(secret string) bool {
		_, err := awsAs(tw, region, akA, secret, "").TagResources(ctxT(t), tagInput(arn))
		return err == nil
	}
	grpcOK := func(token string) bool { return grpcTag(t, grpcAs(t, tw.GRPC, token), arn) == nil }
	if !awsOK(skA) || !grpcOK(tokenA) {
		t.Fatal("the first credentials do not work")
	}

	replaceFile(t, path, authFile(rotatedSecretA, rotatedTokenA))
	tw.Signal(t, syscall.SIGHUP)
	tw.WaitLog(t, "auth file reloaded", 10*time.Second)
	if awsOK(skA) || grpcOK(tokenA) || !awsOK(rotatedSecretA) || !grpcOK(rotatedTokenA) {
		t.Fatal("SIGHUP did not rotate the credentials")
	}

	replaceFile(t, path, "principals:\n  - name: broken\n    colour: red\n")
	line := tw.WaitLog(t, "auth file not reloaded", 10*time.Second)
	if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, path+":3:") {
		t.Fatalf("the refusal: %s", line)
	}
	if !awsOK(rotatedSecretA) || !grpcOK(rotatedTokenA) {
		t.Fatal("a broken file replaced the one in force")
	}

	// Changed on disk, without a signal.
	replaceFile(t, path, authFile(skA, tokenA))
	tw.WaitLog(t, "auth file reloaded", 10*time.Second)
	if !awsOK(skA) || !grpcOK(tokenA) || grpcOK(rotatedTokenA) {
		t.Fatal("the change on disk was not taken")
	}
	noSecretsLogged(t, tw.Stop(t, syscall.SIGTERM))
}

// TestOpenModeServesOnlyThisMachine checks tagway without an auth file: a
// WARN line says so, and peers from another address get each surface's
// authentication error while health stays reachable.
func TestOpenModeServesOnlyThisMachine(t *testing.T) {
	ip := nonLoopback(t)
	for _, allow := range []bool{false, true} {
		args := []string{"--grpc-addr", ip + ":0", "--http-addr", ip + ":0"}
		if allow {
			args = append(args, "--allow-remote-unauthenticated")
		}
		tw := tagwaytest.Start(t, binary, args...)
		warn := tw.WaitLog(t, "no --auth-file", 5*time.Second)
		if !strings.Contains(warn, "level=WARN") {
			t.Fatalf("start-up line: %s", warn)
		}
		arn := instanceOf(acctA, "i-open")
		awsErr := awsCode(t, func() error {
			_, err := awsClient(tw, region).TagResources(ctxT(t), tagInput(arn))
			return err
		}())
		hwErr := huaweiAs(t, tw, "HPUAEXAMPLEAK", "exampleSecretKey", "")
		_, hwCallErr := hwErr.TagResource(&model.TagResourceRequest{ResourceId: ou1, Body: &model.TagResourceReqBody{Tags: hwTags("by", "huawei")}})
		grpcErr := grpcTag(t, grpcAs(t, tw.GRPC, ""), arn)
		if allow {
			if awsErr != "OK" || hwCallErr != nil || grpcErr != nil {
				t.Fatalf("allowed remote: %s, %v, %v", awsErr, hwCallErr, grpcErr)
			}
		} else {
			if awsErr != "UnrecognizedClientException" {
				t.Fatalf("AWS from another address: %s", awsErr)
			}
			wantHWError(t, hwCallErr, 401, "APIGW.0301")
			wantCode(t, grpcErr, codes.Unauthenticated)
			if !strings.Contains(status.Convert(grpcErr).Message(), "--auth-file") {
				t.Fatalf("the refusal does not say how to configure tagway: %v", grpcErr)
			}
		}
		resp, err := http.Get(tw.URL() + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %v, %v", resp, err)
		}
		resp.Body.Close()
		conn, err := grpc.NewClient(tw.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := healthpb.NewHealthClient(conn).Check(ctxT(t), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("gRPC health from another address: %v", err)
		}
		conn.Close()
		tw.Stop(t, syscall.SIGTERM)
	}
}
