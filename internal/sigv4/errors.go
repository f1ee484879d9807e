package sigv4

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// Error is a verification failure, named as AWS JSON services name them.
type Error struct {
	// Code is one of MissingAuthenticationTokenException,
	// IncompleteSignatureException, UnrecognizedClientException,
	// InvalidSignatureException and ExpiredTokenException.
	Code string
	// Message is in AWS wording. It may repeat parts of the request (the
	// credential, SignedHeaders, X-Amz-Date) but never the secret, the
	// session token or a signature.
	Message string
}

// Error returns the code and the message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The codes of Error.
const (
	codeMissingToken  = "MissingAuthenticationTokenException"
	codeIncomplete    = "IncompleteSignatureException"
	codeUnrecognized  = "UnrecognizedClientException"
	codeInvalid       = "InvalidSignatureException"
	codeExpiredToken  = "ExpiredTokenException"
	mismatchMessage   = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	invalidKeyMessage = "The security token included in the request is invalid."
)

// missingToken, incomplete, invalid, mismatch and unrecognized return the
// errors of each code.
func missingToken() *Error {
	return &Error{Code: codeMissingToken, Message: "Missing Authentication Token"}
}

func incomplete(msg string) *Error { return &Error{Code: codeIncomplete, Message: msg} }

func invalid(msg string) *Error { return &Error{Code: codeInvalid, Message: msg} }

func mismatch() *Error { return invalid(mismatchMessage) }

func unrecognized() *Error { return &Error{Code: codeUnrecognized, Message: invalidKeyMessage} }

// mustBeSigned reports a header that the request had to sign.
func mustBeSigned(name string) *Error {
	return incomplete("'" + clip(http.CanonicalHeaderKey(name)) + "' must be a 'SignedHeader' in the AWS Authorization.")
}

// maxEcho bounds how much of a request value an error message repeats.
const maxEcho = 128

// clip shortens s, a value from the request, for an error message.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	n := maxEcho
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// minutes formats d in minutes, as the skew messages do.
func minutes(d time.Duration) string {
	return strconv.FormatFloat(d.Minutes(), 'f', -1, 64)
}
