// Package calltest makes in-process HTTP calls to a dialect's handler for
// benchmarks, at the cost of the handler alone: requests copied from a
// template instead of parsed from HTTP text (which is the HTTP server's
// work, not the dialect's), and answers recorded into reused buffers.
package calltest

import (
	"bytes"
	"net/http"
)

// Caller sends one request again and again. It reuses the request, its
// body reader and the recorder, so that a call allocates nothing of its
// own: a handler must not keep them past its return, which net/http does
// not allow either.
type Caller struct {
	h    http.Handler
	tmpl *http.Request
	body []byte
	req  http.Request
	rd   bodyReader
	w    Recorder
}

// bodyReader is a request body read from bytes.
type bodyReader struct{ bytes.Reader }

// Close implements io.ReadCloser.
func (*bodyReader) Close() error { return nil }

// New returns a Caller of h with a POST of body to target (a path, with
// its query if any) carrying header, from a loopback peer.
func New(h http.Handler, target string, header http.Header, body string) *Caller {
	tmpl, err := http.NewRequest(http.MethodPost, "http://tagway"+target, nil)
	if err != nil {
		panic(err) // a target the benchmark wrote
	}
	tmpl.Header = header
	tmpl.RemoteAddr = "127.0.0.1:1"
	tmpl.ContentLength = int64(len(body))
	return &Caller{h: h, tmpl: tmpl, body: []byte(body), w: Recorder{header: http.Header{}}}
}

// Call sends the request and returns the answer, valid until the next
// Call.
func (c *Caller) Call() *Recorder {
	c.req = *c.tmpl
	c.rd.Reset(c.body)
	c.req.Body = &c.rd
	c.w.reset()
	c.h.ServeHTTP(&c.w, &c.req)
	if c.w.Code == 0 {
		c.w.Code = http.StatusOK
	}
	return &c.w
}

// Recorder is an http.ResponseWriter that keeps the status and body.
type Recorder struct {
	header http.Header
	Code   int
	Body   []byte
}

// Header implements http.ResponseWriter.
func (w *Recorder) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter.
func (w *Recorder) WriteHeader(code int) {
	if w.Code == 0 {
		w.Code = code
	}
}

// Write implements http.ResponseWriter.
func (w *Recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.Body = append(w.Body, b...)
	return len(b), nil
}

func (w *Recorder) reset() {
	clear(w.header)
	w.Code = 0
	w.Body = w.Body[:0]
}
