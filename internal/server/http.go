package server

import (
	"context"
	"io"
	"net/http"
	"time"
)

// bodyCopies is how many times its size a body costs while it is decoded
// and served: measured at about 5 for a 4 MB AWS body of 1000 ARNs.
const bodyCopies = 5

// serveDialect serves a request a dialect claimed, within the body limits:
// its declared length (times bodyCopies) is held against InflightBodyBytes
// until the dialect is done, waiting at most BodyTimeout for it, and then
// the body must arrive within BodyTimeout (the dialect reads it, and a read
// past the deadline fails).
func (s *Server) serveDialect(d Dialect, w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	weight := s.limits.BodyBytes
	if r.ContentLength >= 0 && r.ContentLength < weight {
		weight = r.ContentLength
	}
	// Decoding copies a body a few times over (the dialect's read,
	// grpc-gateway's, the decoded values): count what it will hold.
	weight = min(weight*bodyCopies, s.limits.InflightBodyBytes)
	if weight > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), s.limits.BodyTimeout)
		err := s.bodies.Acquire(ctx, weight)
		cancel()
		if err != nil {
			w.Header().Set("Connection", "close")
			d.Busy(w, r)
			return
		}
		defer s.bodies.Release(weight)
	}
	_ = rc.SetReadDeadline(time.Now().Add(s.limits.BodyTimeout))
	r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
	d.ServeHTTP(w, r)
}

// deadlineBody lifts the read deadline once the body has been read, so
// that it bounds the body's arrival only: net/http keeps reading the
// connection in the background while the handler runs, and a deadline
// passing then would cancel the request.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// closeWhenDraining asks each client to close its connection once shutdown
// has begun, so that keep-alive clients stop sending on a connection the
// server is about to close.
func (s *Server) closeWhenDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.closing.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
