package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
)

// ErrTooLarge reports a request body over the limit ReadBody was given.
var ErrTooLarge = errors.New("the request body is too large")

// ErrSlowBody reports a request body that did not arrive in time (the
// server's read deadline passed while reading it).
var ErrSlowBody = errors.New("the request body did not arrive in time")

// ReadBody reads the whole body of r, up to max bytes. WithBody hands it
// on.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	var body []byte
	var err error
	if n := r.ContentLength; n >= 0 && n <= max {
		// The declared length: one allocation, not ReadAll's doublings.
		body = make([]byte, n)
		_, err = io.ReadFull(r.Body, body)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF // the body was shorter than declared
		}
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, max+1))
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, ErrSlowBody
	}
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > max {
		return nil, ErrTooLarge
	}
	return body, nil
}

// WithBody returns a shallow copy of r with ctx and body, the bytes
// ReadBody read, which the Marshaler's decoder takes without copying them.
func WithBody(r *http.Request, ctx context.Context, body []byte) *http.Request {
	r = r.WithContext(ctx)
	rb := &readBody{b: body}
	rb.Reset(body)
	r.Body = rb
	r.ContentLength = int64(len(body))
	return r
}

// readBody is a body ReadBody has read, which the Marshaler's decoder takes
// as it is.
type readBody struct {
	bytes.Reader
	b []byte
}

// Close implements io.ReadCloser.
func (*readBody) Close() error { return nil }

// WriteError writes an error body: v as compact JSON, with HTML left
// unescaped, under the given status and media type.
func WriteError(w http.ResponseWriter, status int, contentType string, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSuffix(body.Bytes(), []byte("\n")))
}
