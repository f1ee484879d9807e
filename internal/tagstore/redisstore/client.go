package redisstore

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replication is the opt-in wait for replicas after each change (the
// wait_replicas and wait_timeout parameters of a store URL).
type Replication struct {
	// Replicas is how many replicas must confirm a change (WAIT) before it
	// is acknowledged; 0 waits for none.
	Replicas int
	// Timeout bounds the wait; a change not confirmed by then is reported
	// failed (it was applied on the master, and a failover may lose it).
	Timeout time.Duration
}

// NewClient returns a go-redis client for rawURL (see Open) without
// connecting, and the replication it asks for. Its calls honour their
// contexts' deadlines (ContextTimeoutEnabled), so that a stalled server
// costs a call no more than its deadline.
func NewClient(rawURL string) (redis.UniversalClient, Replication, error) {
	var rep Replication
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, rep, fmt.Errorf("store URL %s: %w", Redact(rawURL), errors.Unwrap(err))
	}
	q := u.Query()
	if v := q.Get("wait_replicas"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 16 {
			return nil, rep, fmt.Errorf("store URL %s: wait_replicas %q: want a number of replicas from 0 to 16", Redact(rawURL), v)
		}
		rep.Replicas, rep.Timeout = n, 100*time.Millisecond
	}
	if v := q.Get("wait_timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, rep, fmt.Errorf("store URL %s: wait_timeout %q: want a duration such as 100ms", Redact(rawURL), v)
		}
		rep.Timeout = d
	}
	q.Del("wait_replicas")
	q.Del("wait_timeout")
	u.RawQuery = q.Encode()
	client, err := newClient(u, rawURL)
	return client, rep, err
}

// DefaultPoolSize is the connections to each server a store keeps when the
// URL sets no pool_size. go-redis's own default (10 per CPU, 20 on two)
// is smaller than the calls a busy tagway has in flight: calls then queue
// for a connection, and the tail latency grows with the queue. Connections
// cost Redis about 20 KB each.
const DefaultPoolSize = 128

func newClient(u *url.URL, rawURL string) (redis.UniversalClient, error) {
	poolSet := u.Query().Has("pool_size")
	base, mode, _ := strings.Cut(u.Scheme, "+")
	if base != "redis" && base != "rediss" || mode != "" && mode != "cluster" && mode != "sentinel" {
		return nil, fmt.Errorf("store URL %s: scheme %q is not one of redis, rediss, redis+sentinel, rediss+sentinel, redis+cluster, rediss+cluster", Redact(rawURL), u.Scheme)
	}
	u.Scheme = base
	// defaults sets what tagway wants of every client kind: context
	// deadlines honoured, and DefaultPoolSize unless the URL sizes the pool.
	defaults := func(contextTimeout *bool, poolSize *int) {
		*contextTimeout = true
		if !poolSet {
			*poolSize = DefaultPoolSize
		}
	}
	wrap := func(err error) error {
		return fmt.Errorf("store URL %s: %s", Redact(rawURL), redactText(err.Error(), rawURL))
	}
	switch mode {
	case "cluster":
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, wrap(err)
		}
		defaults(&o.ContextTimeoutEnabled, &o.PoolSize)
		return redis.NewClusterClient(o), nil
	case "sentinel":
		// The userinfo is the data servers' credentials, as in the other
		// forms; the Sentinels' own are sentinel_username and
		// sentinel_password. go-redis reads the userinfo as the Sentinels'
		// and has no query parameter for them, so they are moved here.
		q := u.Query()
		sentinelUser, sentinelPassword := q.Get("sentinel_username"), q.Get("sentinel_password")
		q.Del("sentinel_username")
		q.Del("sentinel_password")
		user := u.User
		u.User, u.RawQuery = nil, q.Encode()
		o, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, wrap(err)
		}
		if o.MasterName == "" {
			return nil, wrap(errors.New("master_name is required"))
		}
		if user != nil {
			o.Username = user.Username()
			o.Password, _ = user.Password()
		}
		o.SentinelUsername, o.SentinelPassword = sentinelUser, sentinelPassword
		defaults(&o.ContextTimeoutEnabled, &o.PoolSize)
		return redis.NewFailoverClient(o), nil
	default:
		o, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, wrap(err)
		}
		defaults(&o.ContextTimeoutEnabled, &o.PoolSize)
		return redis.NewClient(o), nil
	}
}

// secretParams are the query parameters that hold passwords.
var secretParams = []string{"password", "sentinel_password"}

// Redact returns rawURL with every password, in the userinfo and in the
// query, replaced by "xxxxx".
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(an unparsable URL)"
	}
	q := u.Query()
	for _, p := range secretParams {
		if q.Has(p) {
			q.Set(p, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

// redactText removes from text (an error message) every password rawURL
// holds, in case a library quoted one.
func redactText(text, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return text
	}
	var secrets []string
	if pw, ok := u.User.Password(); ok {
		secrets = append(secrets, pw)
	}
	for _, p := range secretParams {
		secrets = append(secrets, u.Query()[p]...)
	}
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "xxxxx")
		}
	}
	return text
}
