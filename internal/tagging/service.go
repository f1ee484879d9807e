// Package tagging is tagway's core: the TaggingService that validates
// requests, applies limits, pages results and drives the tag store. Every
// surface (gRPC, the AWS and Huawei dialects) goes through it, and it never
// knows which one called.
package tagging

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/pagetoken"
	"github.com/tagway/tagway/internal/storehealth"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/watch"
)

// Server-wide ceilings. A call's Limits may lower, never raise, them.
const (
	MaxResources       = 100 // resources per call
	MaxTags            = 50  // tags or keys per call
	MaxTagsPerResource = 50
	// MaxTotalTagsPerResource bounds the tags of a resource including those
	// with reserved prefixes, which MaxTagsPerResource does not count.
	MaxTotalTagsPerResource = 2 * MaxTagsPerResource
	MaxReservedPrefixes     = 10
	MaxReservedPrefixLength = 64
	MaxResourceTypeLength   = 128
	MaxKeyLength            = 128 // Unicode characters
	MaxValueLength          = 256 // Unicode characters
	MaxFilters              = 50
	MaxFilterValues         = 20
	MaxScopes               = 100
	DefaultPageSize         = 100
	MaxPageSize             = 1000
	DefaultTokenTTL         = 15 * time.Minute
)

// pageBaseBudget bounds the candidates one page of ListResources examines,
// plus ten per requested item: past it the page ends early, with a token,
// so that no call runs long on a sparse query (see also list.go).
const pageBaseBudget = 1000

// Service implements tagwayv1.TaggingServiceServer over a tagstore.Store.
type Service struct {
	tagwayv1.UnimplementedTaggingServiceServer

	store    tagstore.Store
	tokens   *pagetoken.Codec
	failures *storehealth.Failures
	reserved []string
	timeout  time.Duration

	hub         *watch.Hub
	watchTokens *pagetoken.Codec
	slowWatcher time.Duration
}

// Option configures a Service.
type Option func(*options)

type options struct {
	timeout  time.Duration
	ttl      time.Duration
	log      *slog.Logger
	failures *storehealth.Failures
	reserved []string
	watch    watch.Options
	noFeed   bool
	slow     time.Duration
}

// WithWatch tunes the watches of WatchTagChanges (package watch's
// defaults otherwise).
func WithWatch(o watch.Options) Option { return func(opts *options) { opts.watch = o } }

// WithoutFeed turns WatchTagChanges off, whatever the store records.
func WithoutFeed() Option { return func(o *options) { o.noFeed = true } }

// WithSlowWatcher sets how long a watch's client may leave a full queue of
// messages unread before the watch ends (DefaultSlowWatcher).
func WithSlowWatcher(d time.Duration) Option { return func(o *options) { o.slow = d } }

// WithPageTokenTTL sets how long page tokens stay valid (DefaultTokenTTL).
func WithPageTokenTTL(d time.Duration) Option { return func(o *options) { o.ttl = d } }

// WithLogger sets where store failures are logged (slog.Default()), when
// WithFailures does not say.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithCallTimeout bounds the store work of each call: every store call
// the call makes shares one deadline, this long after the call began, so
// that a call answers within about d whatever the store does, and no change
// it sends lands later. 0 (the default) sets none.
func WithCallTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithFailures sets what counts and logs store failures (by default, one
// logging to the WithLogger logger).
func WithFailures(f *storehealth.Failures) Option { return func(o *options) { o.failures = f } }

// WithReservedKeyPrefixes reserves key prefixes for every caller, on top of
// those a call's Limits name.
func WithReservedKeyPrefixes(prefixes ...string) Option {
	return func(o *options) { o.reserved = append(o.reserved, prefixes...) }
}

// New returns a Service on store. It reads the store's secret to sign page
// tokens, so it fails when the store does.
func New(ctx context.Context, store tagstore.Store, opts ...Option) (*Service, error) {
	o := options{ttl: DefaultTokenTTL, log: slog.Default(), slow: DefaultSlowWatcher}
	for _, opt := range opts {
		opt(&o)
	}
	secret, err := store.Secret(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the page-token secret from the store: %w", err)
	}
	if o.failures == nil {
		o.failures = storehealth.NewFailures(o.log, 0)
	}
	hub, err := feedHub(store, o)
	if err != nil {
		return nil, err
	}
	return &Service{
		store:       store,
		tokens:      pagetoken.New(secret, o.ttl),
		failures:    o.failures,
		timeout:     o.timeout,
		reserved:    lowerAll(o.reserved),
		hub:         hub,
		watchTokens: pagetoken.New(secret, resumeTokenTTL),
		slowWatcher: o.slow,
	}, nil
}

// Tokens returns the page-token codec, so tests can move its clock.
func (s *Service) Tokens() *pagetoken.Codec { return s.tokens }

// bound gives a call its deadline (WithCallTimeout), unless it has an
// earlier one.
func (s *Service) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}
