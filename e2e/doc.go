// Package e2e drives a real tagway binary with the unmodified official
// clients: aws-sdk-go-v2, the AWS CLI and boto3 for the AWS dialect, the
// Huawei Cloud Go SDK for the Huawei dialect, and gRPC for the core.
package e2e
