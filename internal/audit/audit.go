// Package audit records who changed which tags: one CloudTrail-like record
// for every call that changes tags and every call refused for
// authentication or authorization, written as a JSON line to a sink (a file
// or stderr) and kept in the store's journal for ListAuditEvents. A record
// never holds a secret: credentials are named by their access key id, token
// kind or certificate URI only.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/callinfo"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/logevery"
	"github.com/tagway/tagway/internal/pagetoken"
	"github.com/tagway/tagway/internal/tagstore"
)

// Record is one audit record. Its JSON names follow CloudTrail's.
type Record struct {
	EventVersion    string            `json:"eventVersion"`
	EventID         string            `json:"eventID"`
	EventTime       time.Time         `json:"eventTime"`
	EventSource     string            `json:"eventSource"`
	EventName       string            `json:"eventName"`
	EventType       string            `json:"eventType"`
	ReadOnly        bool              `json:"readOnly"`
	UserIdentity    UserIdentity      `json:"userIdentity"`
	SourceIPAddress string            `json:"sourceIPAddress,omitempty"`
	UserAgent       string            `json:"userAgent,omitempty"`
	Resources       []string          `json:"resourceARNList,omitempty"`
	TagKeys         []string          `json:"tagKeys,omitempty"`
	Failed          map[string]string `json:"failedResourcesMap,omitempty"`
	ErrorCode       string            `json:"errorCode,omitempty"`
	ErrorMessage    string            `json:"errorMessage,omitempty"`
	RequestID       string            `json:"requestID,omitempty"`
}

// UserIdentity is who made the call.
type UserIdentity struct {
	// Type is "Principal", "Anonymous" (tagway without an auth file) or
	// "Unknown" (authentication failed).
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
}

// Metrics counts what the trail could not keep.
type Metrics struct {
	// SinkFailures counts records the sink failed to take; StoreFailures
	// records the journal failed to take.
	SinkFailures, StoreFailures atomic.Uint64
}

// Trail writes records.
type Trail struct {
	sink    io.Writer
	path    string // the sink's file, "" for a writer given
	journal tagstore.Journal
	tokens  *pagetoken.Codec
	log     *slog.Logger
	Metrics Metrics

	mu   sync.Mutex
	file *os.File

	// queue feeds the journal from one goroutine, so that a slow or
	// unreachable store never delays a call's answer.
	queue   chan []byte
	qmu     sync.RWMutex // held to send on queue; Close takes it to close it
	closed  bool
	pending sync.WaitGroup
	done    chan struct{}
	stop    context.CancelFunc // makes the remaining appends fail at once
	// storeErrors limits the log lines about records the journal lost.
	storeErrors *logevery.Limiter
}

// journalQueue bounds the records waiting for the store.
const journalQueue = 4096

// Open returns a trail writing to path ("-" or "stderr" for stderr, given
// as stderr; "" for no sink) and to store's journal, when it keeps one.
func Open(ctx context.Context, path string, stderr io.Writer, store tagstore.Store, log *slog.Logger) (*Trail, error) {
	t := &Trail{log: log, storeErrors: logevery.New(log, 10*time.Second)}
	switch path {
	case "":
	case "-", "stderr":
		t.sink = stderr
	default:
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("--audit-log: %w", err)
		}
		t.sink, t.file, t.path = f, f, path
	}
	if j, ok := tagstore.JournalOf(store); ok {
		secret, err := store.Secret(ctx)
		if err != nil {
			return nil, err
		}
		t.journal, t.tokens = j, pagetoken.New(secret, 15*time.Minute)
		t.queue, t.done = make(chan []byte, journalQueue), make(chan struct{})
		var stopped context.Context
		stopped, t.stop = context.WithCancel(context.Background())
		go t.keep(stopped)
	}
	return t, nil
}

// keep writes queued records to the journal.
func (t *Trail) keep(stopped context.Context) {
	defer close(t.done)
	for line := range t.queue {
		ctx, cancel := context.WithTimeout(stopped, time.Second)
		err := t.journal.AppendJournal(ctx, line)
		cancel()
		// Counted before the record stops being pending, so that Flush
		// returns with the count complete.
		if err != nil && !errors.Is(err, tagstore.ErrNoFeed) {
			t.storeFailed(err)
		}
		t.pending.Done()
	}
}

// storeFailed counts a record the journal did not take and logs it at
// ERROR, at most once every 10 s with how many went unlogged since, so that
// a store outage does not flood the log.
func (t *Trail) storeFailed(err error) {
	t.Metrics.StoreFailures.Add(1)
	t.storeErrors.Log(context.Background(), slog.LevelError, "audit records not kept for ListAuditEvents: the store failed (they are in the --audit-log sink, if any)", slog.Any("error", err))
}

// Flush waits until every record so far has reached the journal (or
// failed to), or ctx ends.
func (t *Trail) Flush(ctx context.Context) {
	if t.queue == nil {
		return
	}
	done := make(chan struct{})
	go func() { t.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Close hands the queued records to the journal (for at most 2 s; those
// left then are counted as lost) and closes the sink's file.
func (t *Trail) Close() error {
	if t.queue != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		t.Flush(ctx)
		cancel()
		t.stop()
		t.qmu.Lock()
		t.closed = true
		close(t.queue)
		t.qmu.Unlock()
		<-t.done
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.file != nil {
		return t.file.Close()
	}
	return nil
}

// Call records a call that reached the access layer: ctx carries its
// caller; req and resp are the core's (resp nil when it failed).
func (t *Trail) Call(ctx context.Context, req, resp proto.Message, err error) {
	c, _ := identity.FromContext(ctx)
	r := t.newRecord(c)
	switch q := req.(type) {
	case *tagwayv1.TagResourcesRequest:
		r.Resources, r.TagKeys = q.GetResources(), slices.Sorted(maps.Keys(q.GetTags()))
	case *tagwayv1.UntagResourcesRequest:
		r.Resources, r.TagKeys = q.GetResources(), q.GetTagKeys()
	case *tagwayv1.WatchTagChangesRequest:
		r.ReadOnly, r.TagKeys = true, q.GetTagKeys()
	default:
		r.ReadOnly = true
	}
	var failed map[string]*tagwayv1.ResourceFailure
	switch p := resp.(type) {
	case *tagwayv1.TagResourcesResponse:
		failed = p.GetFailedResources()
	case *tagwayv1.UntagResourcesResponse:
		failed = p.GetFailedResources()
	}
	for name, f := range failed {
		if r.Failed == nil {
			r.Failed = map[string]string{}
		}
		r.Failed[name] = f.GetReason().String() + ": " + f.GetMessage()
	}
	if err != nil {
		st := status.Convert(err)
		r.ErrorCode, r.ErrorMessage = codeName(st.Code()), st.Message()
	}
	t.write(ctx, r)
}

// Refused records a call refused for authentication before it reached the
// access layer; c is what the surface knew of the caller.
func (t *Trail) Refused(ctx context.Context, c identity.Caller, err error) {
	r := t.newRecord(c)
	r.UserIdentity = UserIdentity{Type: "Unknown", AccessKeyID: c.Credential}
	st := status.Convert(err)
	r.ErrorCode, r.ErrorMessage = codeName(st.Code()), st.Message()
	if st.Code() == codes.Unknown {
		r.ErrorCode = "UNAUTHENTICATED"
	}
	t.write(ctx, r)
}

func (t *Trail) newRecord(c identity.Caller) Record {
	r := Record{
		EventVersion: "1.0", EventID: callinfo.NewRequestID(), EventTime: time.Now().UTC(),
		EventSource: c.Surface, EventName: c.Operation, EventType: "ApiCall",
		SourceIPAddress: c.Peer, UserAgent: c.UserAgent, RequestID: c.RequestID,
		UserIdentity: UserIdentity{Type: "Anonymous", AccessKeyID: c.Credential},
	}
	if c.Principal != nil {
		r.UserIdentity.Type, r.UserIdentity.PrincipalID = "Principal", c.Principal.Name
	}
	return r
}

// codeName is a gRPC code in the form of its constant (PERMISSION_DENIED).
func codeName(c codes.Code) string {
	if c == codes.OK {
		return ""
	}
	b := []byte{}
	for i, ch := range c.String() {
		if i > 0 && ch >= 'A' && ch <= 'Z' {
			b = append(b, '_')
		}
		if ch >= 'a' && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		b = append(b, byte(ch))
	}
	return string(b)
}

// write sends r to the sink and the journal. A failure of either is
// logged at ERROR and counted: a gap in the trail is never silent.
func (t *Trail) write(ctx context.Context, r Record) {
	line, err := json.Marshal(r)
	if err != nil {
		t.log.Error("audit record not encoded", "error", err, "request_id", r.RequestID)
		t.Metrics.SinkFailures.Add(1)
		return
	}
	if t.sink != nil {
		if err := t.writeSink(append(line, '\n')); err != nil {
			t.Metrics.SinkFailures.Add(1)
			t.log.Error("audit record lost: the audit log cannot be written", "error", err, "path", t.path, "event_id", r.EventID, "request_id", r.RequestID)
		}
	}
	if t.queue != nil {
		t.qmu.RLock()
		defer t.qmu.RUnlock()
		if t.closed {
			t.storeFailed(errors.New("the audit trail is closed"))
			return
		}
		t.pending.Add(1)
		select {
		case t.queue <- line:
		default:
			t.pending.Done()
			t.storeFailed(errors.New("the queue of records for the store is full"))
		}
	}
}

// writeSink writes one line; a sink file that was removed or replaced
// (rotated) is reopened at its path first, and its loss reported.
func (t *Trail) writeSink(line []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.file != nil {
		if err := t.reopenIfMoved(); err != nil {
			return err
		}
	}
	_, err := t.sink.Write(line)
	return err
}

// reopenIfMoved reopens the sink when its path no longer names the open
// file. The file's removal itself is reported, since lines written to it
// since were lost.
func (t *Trail) reopenIfMoved() error {
	open, err1 := t.file.Stat()
	named, err2 := os.Stat(t.path)
	if err1 == nil && err2 == nil && os.SameFile(open, named) {
		return nil
	}
	t.log.Error("the audit log file was removed or replaced; reopening it", "path", t.path)
	t.Metrics.SinkFailures.Add(1)
	f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_ = t.file.Close()
	t.file, t.sink = f, f
	return nil
}

// ListAuditEvents answers the RPC of that name; principal, when not empty,
// is the only principal the caller may see (a restricted caller sees its
// own records).
func (t *Trail) ListAuditEvents(ctx context.Context, req *tagwayv1.ListAuditEventsRequest, principal string) (*tagwayv1.ListAuditEventsResponse, error) {
	if t.journal == nil {
		return nil, status.Error(codes.FailedPrecondition, "the audit trail is not kept (--feed-retention 0)")
	}
	if principal != "" {
		if req.GetPrincipal() != "" && req.GetPrincipal() != principal {
			return nil, status.Errorf(codes.PermissionDenied, "principal: %q may list only its own audit records", principal)
		}
		req = proto.CloneOf(req)
		req.Principal = principal
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, status.Error(codes.InvalidArgument, "page_size: is negative")
	case size == 0:
		size = 100
	case size > 1000:
		size = 1000
	}
	after := tagstore.Pos{}
	if s := req.GetStartTime(); s != nil {
		if ms := s.AsTime().UnixMilli(); ms > 0 {
			after = tagstore.Pos{Ms: uint64(ms) - 1, Seq: ^uint64(0)}
		}
	}
	until := tagstore.Pos{Ms: uint64(time.Now().Add(time.Minute).UnixMilli())}
	if e := req.GetEndTime(); e != nil {
		until = tagstore.Pos{Ms: uint64(max(e.AsTime().UnixMilli(), 0))}
	}
	query := func() []byte {
		c := proto.CloneOf(req)
		c.PageSize, c.PageToken = 0, ""
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
		return b
	}()
	if tok := req.GetPageToken(); tok != "" {
		cursor, err := t.tokens.Decode(tok, query, 1)
		if err == nil {
			after, err = tagstore.ParsePos(cursor[0])
		}
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "page_token: %v", err)
		}
	}
	resp := &tagwayv1.ListAuditEventsResponse{}
	// Each page reads a bounded number of records, so that a filter that
	// matches few costs a page's worth of reads, with a token to go on.
	const budget = 4096
	read := 0
	for read < budget {
		entries, err := t.journal.ReadJournal(ctx, after, until, min(budget-read, 512))
		if err != nil {
			return nil, status.Error(codes.Unavailable, "the tag store is unavailable; retry later")
		}
		for _, e := range entries {
			read++
			after = e.Pos
			var r Record
			if json.Unmarshal(e.Data, &r) != nil {
				continue
			}
			if req.GetPrincipal() != "" && r.principal() != req.GetPrincipal() {
				continue
			}
			resp.Events = append(resp.Events, r.proto())
			if len(resp.Events) == size {
				resp.NextPageToken = t.tokens.Encode(query, after.String())
				return resp, nil
			}
		}
		if len(entries) < 512 {
			return resp, nil
		}
	}
	resp.NextPageToken = t.tokens.Encode(query, after.String())
	return resp, nil
}

// principal is the principal a record is filed under: "anonymous" for an
// anonymous caller, "" when authentication failed.
func (r Record) principal() string {
	if r.UserIdentity.Type == "Anonymous" {
		return "anonymous"
	}
	return r.UserIdentity.PrincipalID
}

func (r Record) proto() *tagwayv1.AuditEvent {
	return &tagwayv1.AuditEvent{
		EventId: r.EventID, EventTime: timestamppb.New(r.EventTime), EventSource: r.EventSource, EventName: r.EventName,
		Principal: r.principal(), AccessKeyId: r.UserIdentity.AccessKeyID, SourceIpAddress: r.SourceIPAddress,
		UserAgent: r.UserAgent, Resources: r.Resources, TagKeys: r.TagKeys, FailedResources: r.Failed,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage, RequestId: r.RequestID, ReadOnly: r.ReadOnly,
	}
}

// Authenticate wraps a gRPC authenticator so that t records the calls it
// refuses.
func Authenticate(auth func(context.Context) (context.Context, error), t *Trail) func(context.Context) (context.Context, error) {
	return func(ctx context.Context) (context.Context, error) {
		out, err := auth(ctx)
		if err != nil {
			c := identity.Caller{Surface: identity.SurfaceGRPC}
			if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
				c.Peer = p.Addr.String()
			}
			// Describe, not Fill: the caller is nobody, and the access log
			// (an observer of the callers a context is given) must show it.
			_, c = callinfo.Describe(ctx, c)
			t.Refused(ctx, c, err)
		}
		return out, err
	}
}
