// Package feedhttp serves the change feed to REST clients: GET
// /v1/tag-changes streams WatchTagChanges as newline-delimited JSON, each
// change shaped like the "Tag Change on Resource" event AWS sends to
// EventBridge, so that rules written for EventBridge can read tagway's.
package feedhttp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/callinfo"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/tagging"
)

// Path is the path of the feed.
const Path = "/v1/tag-changes"

// SurfaceHTTP names the feed's surface in audit records.
const SurfaceHTTP = "http"

// ResumeTokenHeader carries, in a request, the token to resume from (the
// resume_token query parameter does too).
const ResumeTokenHeader = "X-Tagway-Resume-Token"

// writeTimeout bounds the write of one message (its lines) to a client: a client that reads
// nothing for that long is let go.
const writeTimeout = 30 * time.Second

// Handler serves the feed. It implements server.Dialect.
type Handler struct {
	core tagwayv1.TaggingServiceServer
	// authenticate decides who calls, as for gRPC (a bearer token of the
	// auth file, or, without one, local callers only).
	authenticate func(context.Context) (context.Context, error)
	// base ends every stream when it ends (tagway shutting down).
	base context.Context
	// refused is told of calls refused for authentication (nil: none).
	refused func(ctx context.Context, c identity.Caller, err error)
}

// New returns the handler over core (the access layer). authenticate
// judges a context carrying the request's Authorization header as gRPC
// metadata and its peer; refused, if not nil, hears of refused calls.
func New(base context.Context, core tagwayv1.TaggingServiceServer, authenticate func(context.Context) (context.Context, error), refused func(context.Context, identity.Caller, error)) *Handler {
	return &Handler{core: core, authenticate: authenticate, base: base, refused: refused}
}

// Claims implements server.Dialect.
func (h *Handler) Claims(r *http.Request) bool { return r.URL.Path == Path }

// Name implements server.Dialect.
func (h *Handler) Name() string { return "feed" }

// Operation implements server.Dialect.
func (h *Handler) Operation(*http.Request) string { return "WatchTagChanges" }

// Busy implements server.Dialect.
func (h *Handler) Busy(w http.ResponseWriter, _ *http.Request) {
	writeError(w, status.Error(codes.Unavailable, "tagway is busy; retry later"))
}

// ServeHTTP streams the changes the query selects.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Reading the (empty) body to its end lifts the server's read
	// deadline, which would otherwise end the stream.
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<10))
	if r.Method != http.MethodGet {
		writeError(w, status.Error(codes.InvalidArgument, "use GET"))
		return
	}
	req, err := request(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(h.base, cancel)
	defer stop()

	md := metadata.MD{"user-agent": {r.UserAgent()}}
	if a := r.Header.Get("Authorization"); a != "" {
		md.Set("authorization", a)
	}
	actx := metadata.NewIncomingContext(ctx, md)
	if addr, err := net.ResolveTCPAddr("tcp", r.RemoteAddr); err == nil {
		actx = peer.NewContext(actx, &peer.Peer{Addr: addr})
	}
	requestID := callinfo.NewRequestID()
	w.Header().Set("X-Request-Id", requestID)
	actx, err = h.authenticate(actx)
	if err != nil {
		if h.refused != nil {
			h.refused(ctx, identity.Caller{Surface: SurfaceHTTP, Peer: r.RemoteAddr, RequestID: requestID, Operation: "WatchTagChanges", UserAgent: r.UserAgent()}, err)
		}
		writeError(w, err)
		return
	}
	c, _ := identity.FromContext(actx)
	c.Surface, c.RequestID, c.Operation, c.UserAgent = SurfaceHTTP, requestID, "WatchTagChanges", r.UserAgent()
	actx = identity.NewContext(actx, c)

	st := &stream{ctx: actx, w: w, rc: http.NewResponseController(w)}
	err = h.core.WatchTagChanges(req, st)
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.started {
		writeError(w, err)
		return
	}
	if err != nil && ctx.Err() == nil {
		st.line(map[string]any{"tagway": map[string]any{"error": errorBody(err)}})
	}
}

// request reads the query: account, region, service, resource-type and
// tag-key (each repeatable) and resume-token (or the header).
func request(r *http.Request) (*tagwayv1.WatchTagChangesRequest, error) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "partition", "account", "region", "service", "resource-type", "tag-key", "resume-token":
		default:
			return nil, status.Errorf(codes.InvalidArgument, "unknown query parameter %q: use partition, account, region, service, resource-type, tag-key or resume-token", k)
		}
	}
	req := &tagwayv1.WatchTagChangesRequest{TagKeys: q["tag-key"], ResumeToken: q.Get("resume-token")}
	if t := r.Header.Get(ResumeTokenHeader); t != "" && req.ResumeToken == "" {
		req.ResumeToken = t
	}
	sc := &tagwayv1.ResourceScope{Partitions: q["partition"], Accounts: q["account"], Regions: q["region"], Services: q["service"], ResourceTypes: q["resource-type"]}
	if len(sc.Partitions)+len(sc.Accounts)+len(sc.Regions)+len(sc.Services)+len(sc.ResourceTypes) > 0 {
		req.Scopes = []*tagwayv1.ResourceScope{sc}
	}
	return req, nil
}

// stream writes WatchTagChanges messages as JSON lines.
type stream struct {
	grpc.ServerStream
	ctx     context.Context
	w       http.ResponseWriter
	rc      *http.ResponseController
	mu      sync.Mutex
	started bool
}

func (s *stream) Context() context.Context     { return s.ctx }
func (s *stream) SetHeader(metadata.MD) error  { return nil }
func (s *stream) SendHeader(metadata.MD) error { return nil }
func (s *stream) SetTrailer(metadata.MD)       {}

// Abort cuts a blocked write short (tagging.Aborter).
func (s *stream) Abort() { _ = s.rc.SetWriteDeadline(time.Now()) }

var _ tagging.Aborter = (*stream)(nil)

// Send writes one message: a line per change, or a progress line, and
// flushes them.
func (s *stream) Send(m *tagwayv1.WatchTagChangesResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", "application/x-ndjson")
		s.w.Header().Set("Cache-Control", "no-store")
		s.w.WriteHeader(http.StatusOK)
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	for _, c := range m.GetChanges() {
		if err := s.line(Event(c.GetChange(), c.GetResumeToken())); err != nil {
			return err
		}
	}
	if len(m.GetChanges()) == 0 {
		if err := s.line(map[string]any{"tagway": map[string]any{"resume-token": m.GetResumeToken(), "progress": true}}); err != nil {
			return err
		}
	}
	return s.rc.Flush()
}

// line writes v as one line; s.mu is held.
func (s *stream) line(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = s.w.Write(append(b, '\n'))
	return err
}

// Event returns the EventBridge shape of a change: the fields of AWS's
// "Tag Change on Resource" event, and a "tagway" member with the resume
// token and the change's origin and diff.
func Event(c *tagwayv1.TagChange, token string) map[string]any {
	n, err := arn.Parse(c.GetResource())
	source, service, typ := "tagway.tag", "", ""
	if err == nil {
		service, typ = n.Service, n.Type()
		if n.Partition == "aws" || strings.HasPrefix(n.Partition, "aws-") {
			source = "aws.tag"
		}
	}
	changed := []string{}
	for _, t := range c.GetAdded() {
		changed = append(changed, t.GetKey())
	}
	for _, t := range c.GetChanged() {
		changed = append(changed, t.GetKey())
	}
	for _, t := range c.GetRemoved() {
		changed = append(changed, t.GetKey())
	}
	tags := map[string]string{}
	for _, t := range c.GetTags() {
		tags[t.GetKey()] = t.GetValue()
	}
	t := c.GetTime().AsTime()
	version := t.UnixMilli()
	if _, seq, ok := strings.Cut(c.GetId(), "-"); ok {
		s, _ := strconv.ParseInt(seq, 10, 64)
		version = version*1000 + s
	}
	return map[string]any{
		"version":     "0",
		"id":          c.GetId(),
		"detail-type": "Tag Change on Resource",
		"source":      source,
		"account":     n.Account,
		"time":        t.UTC().Format(time.RFC3339),
		"region":      n.Region,
		"resources":   []string{c.GetResource()},
		"detail": map[string]any{
			"changed-tag-keys": changed,
			"service":          service,
			"resource-type":    strings.TrimPrefix(typ, "/"),
			"version":          version,
			"tags":             tags,
		},
		"tagway": map[string]any{
			"resume-token": token,
			"surface":      c.GetSurface(),
			"operation":    c.GetOperation(),
			"principal":    c.GetPrincipal(),
			"request-id":   c.GetRequestId(),
			"added":        c.GetAdded(),
			"changed":      c.GetChanged(),
			"removed":      c.GetRemoved(),
		},
	}
}

// httpStatus maps a gRPC code to the status of a feed answer.
var httpStatus = map[codes.Code]int{
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.Unauthenticated:    http.StatusUnauthorized,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.OutOfRange:         http.StatusGone, // as a Kubernetes watch's "too old resource version"
	codes.FailedPrecondition: http.StatusPreconditionFailed,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
	codes.Unavailable:        http.StatusServiceUnavailable,
	codes.Canceled:           499,
}

func errorBody(err error) map[string]any {
	st := status.Convert(err)
	body := map[string]any{"code": st.Code().String(), "message": st.Message()}
	if info := tagging.Info(err); info != nil {
		body["reason"] = info.GetReason()
	}
	return body
}

// writeError answers a request that failed before its stream began.
func writeError(w http.ResponseWriter, err error) {
	if err == nil {
		err = errors.New("the watch ended")
	}
	code, ok := httpStatus[status.Code(err)]
	if !ok {
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{"tagway": map[string]any{"error": errorBody(err)}})
	_, _ = w.Write(append(b, '\n'))
}
