package aws

import (
	"errors"
	"net/http"
	"regexp"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPartitionOf(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-central-2": "aws", "cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn",
		"us-gov-west-1": "aws-us-gov", "us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b",
		"eu-isoe-west-1": "aws-iso-e", "us-isof-south-1": "aws-iso-f", "eusc-de-east-1": "aws-eusc",
	} {
		if got := partitionOf(region); got != want {
			t.Errorf("partitionOf(%q) = %q, want %q", region, got, want)
		}
	}
}

func TestRequestID(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := newRequestID(), newRequestID()
	if !uuid.MatchString(a) || a == b {
		t.Fatalf("request ids %q, %q", a, b)
	}
}

func TestToAPIError(t *testing.T) {
	for _, tc := range []struct {
		err    error
		typ    string
		status int
	}{
		{status.Error(codes.InvalidArgument, "proto: syntax error"), "SerializationException", http.StatusBadRequest},
		{errors.New("boom"), "InternalServiceException", http.StatusInternalServerError},
		{invalidParameter("x"), "InvalidParameterException", http.StatusBadRequest},
		{noTagPolicies("Op"), "ConstraintViolationException", http.StatusBadRequest},
	} {
		if e := toAPIError(tc.err); e.Type != tc.typ || e.Status != tc.status {
			t.Errorf("toAPIError(%v) = %+v, want %s %d", tc.err, e, tc.typ, tc.status)
		}
	}
}

func TestOperation(t *testing.T) {
	h := &Handler{}
	for target, want := range map[string]string{
		TargetPrefix + "UntagResources": "UntagResources", TargetPrefix + "Bogus": "unknown",
		"Other.UntagResources": "unknown", "": "unknown",
	} {
		r, _ := http.NewRequest(http.MethodPost, "http://h/", nil)
		r.Header.Set("X-Amz-Target", target)
		if got := h.Operation(r); got != want {
			t.Errorf("Operation(%q) = %q, want %q", target, got, want)
		}
	}
}
