// Package redisstore is the Redis tag store, for production: tags shared by
// every tagway replica, on a standalone server, behind Sentinel, or on a
// Cluster, through go-redis.
//
// The key schema is in docs/redis-keys.md. In short: a resource and every
// index entry about it live under one hash tag, its namespace, so that each
// change is one Lua script on one Cluster slot; a registry set lists the
// namespaces.
package redisstore

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

// DefaultPrefix starts every key tagway writes.
const DefaultPrefix = "tagway:"

var (
	//go:embed apply.lua
	applySource string
	applyScript = redis.NewScript(applySource)

	//go:embed scan.lua
	scanSource string
	scanScript = redis.NewScript(scanSource)

	//go:embed claim.lua
	claimSource string
	claimScript = redis.NewScript(claimSource)
)

// Store is a tagstore.Store on Redis.
type Store struct {
	client redis.UniversalClient
	prefix string

	secretMu sync.Mutex
	secret   []byte
}

var _ tagstore.Store = (*Store)(nil)

// New returns a store on client that prefixes its keys with prefix. The
// store owns the client: Close closes it.
func New(client redis.UniversalClient, prefix string) *Store {
	return &Store{client: client, prefix: prefix}
}

// Open connects to the Redis named by rawURL and checks that it answers.
//
//	redis://[user:password@]host:port[/db]        a standalone server
//	rediss://...                                  the same over TLS
//	redis+sentinel://[user:password@]host:port[/db]?master_name=NAME[&addr=host:port...]
//	                                              servers found through Sentinel
//	redis+cluster://[user:password@]host:port[?addr=host:port...]
//	                                              a Cluster, from any of its nodes
//
// The +sentinel and +cluster schemes also take an "s" (rediss+cluster://)
// for TLS. Query parameters are go-redis options (dial_timeout, pool_size,
// ...). Errors never contain the password.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	client, err := NewClient(rawURL)
	if err != nil {
		return nil, err
	}
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis at %s: %w", Redact(rawURL), err)
	}
	info, err := client.Info(ctx, "server").Result()
	if err == nil {
		err = checkVersion(info)
	}
	s := New(client, DefaultPrefix)
	if err == nil {
		err = s.checkSchema(ctx)
	}
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("redis at %s: %w", Redact(rawURL), err)
	}
	return s, nil
}

// SchemaVersion numbers the key schema of docs/redis-keys.md. A store
// records the version that wrote it in <prefix>schema, and tagway refuses a
// store of another version, so that two schemas never mix.
const SchemaVersion = 2

// checkSchema records SchemaVersion in a store that holds nothing yet, and
// refuses a store written with another version; a store with tags but no
// version was written before versions were recorded, with version 1.
func (s *Store) checkSchema(ctx context.Context) error {
	key := s.prefix + "schema"
	v, err := s.client.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		v, err = s.recordSchema(ctx, key)
	}
	if err != nil {
		return err
	}
	if v != strconv.Itoa(SchemaVersion) {
		return fmt.Errorf("the store's keys are in schema version %s (%s), and this tagway reads and writes version %d only; run the tagway release that matches the store, or start on an empty store", v, key, SchemaVersion)
	}
	return nil
}

// recordSchema gives a store without a version SchemaVersion if it holds
// nothing, and returns the version it then has ("1" for tags written before
// versions were recorded).
func (s *Store) recordSchema(ctx context.Context, key string) (string, error) {
	n, err := s.client.Exists(ctx, s.registry()).Result()
	if err != nil || n > 0 {
		return "1", err
	}
	if err := s.client.SetNX(ctx, key, SchemaVersion, 0).Err(); err != nil {
		return "", err
	}
	return s.client.Get(ctx, key).Result()
}

// MinVersion is the oldest Redis tagway runs on: its scripts declare their
// flags in a #!lua line, which Redis 7.0 introduced.
const MinVersion = 7

// checkVersion refuses a server older than MinVersion, from the text of
// INFO server.
func checkVersion(info string) error {
	for _, line := range strings.Split(info, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !ok {
			continue
		}
		major, _, _ := strings.Cut(v, ".")
		if n, err := strconv.Atoi(major); err != nil || n < MinVersion {
			return fmt.Errorf("the server runs Redis %s; tagway needs Redis %d.0 or later", v, MinVersion)
		}
		return nil
	}
	return nil // a proxy that hides the version: the scripts will tell
}

// NewClient returns a go-redis client for rawURL (see Open) without
// connecting.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store URL %s: %w", Redact(rawURL), errors.Unwrap(err))
	}
	base, mode, _ := strings.Cut(u.Scheme, "+")
	if base != "redis" && base != "rediss" || mode != "" && mode != "cluster" && mode != "sentinel" {
		return nil, fmt.Errorf("store URL %s: scheme %q is not one of redis, rediss, redis+sentinel, rediss+sentinel, redis+cluster, rediss+cluster", Redact(rawURL), u.Scheme)
	}
	u.Scheme = base
	plain := u.String()
	wrap := func(err error) error { return fmt.Errorf("store URL %s: %w", Redact(rawURL), err) }
	switch mode {
	case "cluster":
		o, err := redis.ParseClusterURL(plain)
		if err != nil {
			return nil, wrap(err)
		}
		return redis.NewClusterClient(o), nil
	case "sentinel":
		o, err := redis.ParseFailoverURL(plain)
		if err != nil {
			return nil, wrap(err)
		}
		if o.MasterName == "" {
			return nil, wrap(errors.New("master_name is required"))
		}
		return redis.NewFailoverClient(o), nil
	default:
		o, err := redis.ParseURL(plain)
		if err != nil {
			return nil, wrap(err)
		}
		return redis.NewClient(o), nil
	}
}

// Redact returns rawURL with any password replaced by "xxxxx".
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// nsPrefix returns the prefix of every key of namespace ns, with the
// namespace's Key as hash tag.
func (s *Store) nsPrefix(ns arn.Namespace) string { return s.prefix + "{" + ns.Key() + "}:" }

func (s *Store) registry() string { return s.prefix + "namespaces" }

// Apply implements tagstore.Store.
//
// A change to a Placed name (no account, or an S3 bucket's missing region)
// first learns, or records, the resource's owner and home (claim.lua), since
// its tags live in the namespace of that placement.
//
// A change that sets tags may create its namespace, which must be in the
// registry before the change is visible, or a listing could miss it. On one
// server the registration rides in the same pipeline, ahead of the scripts,
// and one connection executes it first; on a Cluster the registry may live
// on another node, so it is written in a round trip of its own.
func (s *Store) Apply(ctx context.Context, changes []tagstore.Change) []error {
	errs := make([]error, len(changes))
	nss := make([]arn.Namespace, len(changes))
	var claims []int
	for i, c := range changes {
		nss[i] = c.Resource.Namespace()
		if c.Resource.Placed() {
			claims = append(claims, i)
		}
	}
	skip := make([]bool, len(changes))
	if len(claims) > 0 {
		calls := make([]scriptCall, len(claims))
		for j, i := range claims {
			calls[j] = s.claimCall(changes[i])
		}
		for j, cmd := range s.runScript(ctx, claimScript, calls, nil) {
			i := claims[j]
			p, apply, err := claimResult(cmd)
			nss[i] = p.In(changes[i].Resource)
			skip[i] = err != nil || !apply
			errs[i] = err
		}
	}

	var members []redis.Z
	seen := map[string]bool{}
	var todo []int
	for i, c := range changes {
		if skip[i] {
			continue
		}
		todo = append(todo, i)
		if key := nss[i].Key(); len(c.Set) > 0 && !seen[key] {
			seen[key] = true
			members = append(members, redis.Z{Member: key})
		}
	}
	if len(todo) == 0 {
		return errs
	}
	_, cluster := s.client.(*redis.ClusterClient)
	if cluster && len(members) > 0 {
		if err := s.client.ZAdd(ctx, s.registry(), members...).Err(); err != nil {
			for _, i := range todo {
				errs[i] = err
			}
			return errs
		}
		members = nil
	}
	var register *redis.IntCmd
	calls := make([]scriptCall, len(todo))
	for j, i := range todo {
		calls[j] = s.applyCall(changes[i], nss[i])
	}
	cmds := s.runScript(ctx, applyScript, calls, func(p redis.Pipeliner) {
		if len(members) > 0 {
			register = p.ZAdd(ctx, s.registry(), members...)
		}
	})
	for j, i := range todo {
		errs[i] = applyResult(cmds[j], changes[i])
		if register != nil && register.Err() != nil && len(changes[i].Set) > 0 {
			// The change may have applied in an unregistered namespace: report
			// it failed, so that the caller's retry registers it.
			errs[i] = register.Err()
		}
	}
	return errs
}

// scriptCall is one run of a script: its keys and arguments.
type scriptCall struct {
	keys []string
	args []any
}

// runScript runs script once per call in one pipeline, after what before
// queues, and runs again with EVAL (which also caches the script) the calls
// a server answered NOSCRIPT, as a new Cluster master or a flushed script
// cache does.
func (s *Store) runScript(ctx context.Context, script *redis.Script, calls []scriptCall, before func(redis.Pipeliner)) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	run := func(eval func(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd, which []int) {
		_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			if before != nil {
				before(p)
				before = nil
			}
			for _, i := range which {
				cmds[i] = eval(ctx, p, calls[i].keys, calls[i].args...)
			}
			return nil
		})
	}
	all := make([]int, len(calls))
	for i := range all {
		all[i] = i
	}
	run(script.EvalSha, all)
	var missing []int
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		run(script.Eval, missing)
	}
	return cmds
}

func (s *Store) claimCall(c tagstore.Change) scriptCall {
	p := c.Place()
	return scriptCall{
		keys: []string{s.nsPrefix(c.Resource.Namespace()) + "place"},
		args: []any{c.Resource.Local(), p.Owner, p.Home, flag(len(c.Set) > 0), flag(c.Resource.Account == ""), flag(c.AnyOwner), homeWanted(c)},
	}
}

// homeWanted is the home a change requires of its resource, "" for any.
func homeWanted(c tagstore.Change) string {
	if c.Resource.Homed() {
		return c.Home
	}
	return ""
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// claimResult reads claim.lua's reply: the placement, and whether to apply
// the change there.
func claimResult(cmd *redis.Cmd) (p tagstore.Placement, apply bool, err error) {
	v, err := cmd.Slice()
	if err != nil {
		return p, false, err
	}
	if len(v) != 3 {
		return p, false, fmt.Errorf("redisstore: unexpected reply %v from claim script", v)
	}
	status, _ := v[0].(int64)
	p.Owner, _ = v[1].(string)
	p.Home, _ = v[2].(string)
	switch status {
	case 0:
		return p, false, tagstore.ErrNotOwner
	case 1:
		return p, true, nil
	case 2:
		return p, false, nil
	case 3:
		return p, false, tagstore.ErrNotHome
	}
	return p, false, fmt.Errorf("redisstore: unexpected reply %v from claim script", v)
}

// placements reads where the Placed names among names live; the second
// result marks those never created.
func (s *Store) placements(ctx context.Context, names []arn.Name, nss []arn.Namespace) ([]bool, error) {
	unknown := make([]bool, len(names))
	cmds := make([]*redis.StringCmd, len(names))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			if n.Placed() {
				cmds[i] = p.HGet(ctx, s.nsPrefix(n.Namespace())+"place", n.Local())
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for i, c := range cmds {
		if c == nil {
			continue
		}
		v, err := c.Result()
		switch {
		case errors.Is(err, redis.Nil):
			unknown[i] = true
			continue
		case err != nil:
			return nil, err
		}
		owner, home, ok := strings.Cut(v, ":")
		if !ok {
			return nil, fmt.Errorf("redisstore: place of %s is %q, not owner:home", names[i], v)
		}
		nss[i] = tagstore.Placement{Owner: owner, Home: home}.In(names[i])
	}
	return unknown, nil
}

func (s *Store) applyCall(c tagstore.Change, ns arn.Namespace) scriptCall {
	p := s.nsPrefix(ns)
	local := c.Resource.Local()
	args := make([]any, 0, 6+len(c.ExemptPrefixes)+2*len(c.Set)+3*len(c.Remove))
	args = append(args, p, local, c.MaxTags, c.MaxTotal, len(c.ExemptPrefixes))
	for _, e := range c.ExemptPrefixes {
		args = append(args, e)
	}
	args = append(args, len(c.Set))
	for k, v := range c.Set {
		args = append(args, k, v)
	}
	args = append(args, len(c.Remove))
	for _, k := range c.Remove {
		want, expect := c.Expect[k]
		flag := "0"
		if expect {
			flag = "1"
		}
		args = append(args, k, flag, want)
	}
	return scriptCall{keys: []string{p + "r:" + local}, args: args}
}

func applyResult(cmd *redis.Cmd, c tagstore.Change) error {
	v, err := cmd.Result()
	if err != nil {
		return err
	}
	if refused, ok := v.([]any); ok && len(refused) == 2 {
		n, _ := refused[0].(int64)
		total, _ := refused[1].(int64)
		if total == 1 {
			return &tagstore.LimitError{Count: int(n), Max: c.MaxTotal}
		}
		return &tagstore.LimitError{Count: int(n), Max: c.MaxTags}
	}
	if n, ok := v.(int64); !ok || n != 0 {
		return fmt.Errorf("redisstore: unexpected reply %v from apply script", v)
	}
	return nil
}

// Get implements tagstore.Store. Placed names take a first round trip, to
// learn their placements.
func (s *Store) Get(ctx context.Context, names []arn.Name) ([]tagstore.Resource, error) {
	nss := make([]arn.Namespace, len(names))
	placed := false
	for i, n := range names {
		nss[i] = n.Namespace()
		placed = placed || n.Placed()
	}
	unknown := make([]bool, len(names))
	if placed {
		var err error
		if unknown, err = s.placements(ctx, names, nss); err != nil {
			return nil, err
		}
	}
	known := make([]*redis.FloatCmd, len(names))
	tags := make([]*redis.MapStringStringCmd, len(names))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			if unknown[i] {
				continue
			}
			np := s.nsPrefix(nss[i])
			// Known is read first: a resource never becomes unknown, so a
			// resource with tags is known whatever the first reply said.
			known[i] = p.ZScore(ctx, np+"known", n.Local())
			tags[i] = p.HGetAll(ctx, np+"r:"+n.Local())
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var out []tagstore.Resource
	for i, n := range names {
		if unknown[i] {
			continue
		}
		m, err := tags[i].Result()
		if err != nil {
			return nil, err
		}
		if err := known[i].Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		if len(m) == 0 && known[i].Err() != nil {
			continue
		}
		out = append(out, tagstore.Resource{Name: n.String(), Owner: nss[i].Owner, Home: nss[i].Home, Tags: tagstore.TagsOf(m)})
	}
	return out, nil
}

// Namespaces implements tagstore.Store.
func (s *Store) Namespaces(ctx context.Context, prefix, from string, limit int) ([]arn.Namespace, error) {
	if limit <= 0 {
		return nil, nil
	}
	// 0xff never occurs in UTF-8, so it bounds every string with the prefix.
	strs, err := s.client.ZRangeByLex(ctx, s.registry(), &redis.ZRangeBy{Min: "[" + max(prefix, from), Max: "(" + prefix + "\xff", Count: int64(limit)}).Result()
	if err != nil {
		return nil, err
	}
	out := make([]arn.Namespace, 0, len(strs))
	for _, str := range strs {
		ns, err := arn.ParseNamespace(str)
		if err != nil {
			return nil, fmt.Errorf("redisstore: registry %s holds %w", s.registry(), err)
		}
		out = append(out, ns)
	}
	return out, nil
}

// ScanResources implements tagstore.Store.
func (s *Store) ScanResources(ctx context.Context, ns arn.Namespace, q tagstore.ScanQuery) (tagstore.ScanResult, error) {
	var res tagstore.ScanResult
	if q.Limit <= 0 {
		return res, nil
	}
	p := s.nsPrefix(ns)
	untagged := "0"
	if q.UntaggedOnly {
		untagged = "1"
	}
	args := []any{p, q.From, q.Limit, max(q.Budget, 0), untagged, len(q.Filters)}
	for _, f := range q.Filters {
		args = append(args, f.Key, len(f.Values))
		for _, v := range f.Values {
			args = append(args, v)
		}
	}
	reply, err := scanScript.Run(ctx, s.client, []string{p + "known"}, args...).Slice()
	if err != nil {
		return res, err
	}
	if len(reply) < 3 {
		return res, fmt.Errorf("redisstore: short reply from scan script: %v", reply)
	}
	more, _ := reply[0].(int64)
	next, _ := reply[1].(string)
	examined, _ := reply[2].(int64)
	res.More, res.Next, res.Examined = more == 1, next, int(examined)
	for _, item := range reply[3:] {
		pair, ok := item.([]any)
		if !ok || len(pair) != 2 {
			return res, fmt.Errorf("redisstore: malformed scan item %v", item)
		}
		local, _ := pair[0].(string)
		flat, _ := pair[1].([]any)
		r := tagstore.Resource{Name: ns.Name(local), Owner: ns.Owner, Home: ns.Home, Tags: make([]tagstore.Tag, 0, len(flat)/2)}
		for j := 0; j+1 < len(flat); j += 2 {
			k, _ := flat[j].(string)
			v, _ := flat[j+1].(string)
			r.Tags = append(r.Tags, tagstore.Tag{Key: k, Value: v})
		}
		tagstore.SortTags(r.Tags)
		res.Resources = append(res.Resources, r)
	}
	return res, nil
}

// ScanKeys implements tagstore.Store.
func (s *Store) ScanKeys(ctx context.Context, nss []arn.Namespace, from string, limit int) ([][]string, error) {
	return s.scanSets(ctx, nss, from, limit, func(p string) string { return p + "keys" })
}

// ScanValues implements tagstore.Store.
func (s *Store) ScanValues(ctx context.Context, nss []arn.Namespace, key, from string, limit int) ([][]string, error) {
	return s.scanSets(ctx, nss, from, limit, func(p string) string { return p + "vals:" + key })
}

func (s *Store) scanSets(ctx context.Context, nss []arn.Namespace, from string, limit int, key func(prefix string) string) ([][]string, error) {
	out := make([][]string, len(nss))
	if len(nss) == 0 || limit <= 0 {
		return out, nil
	}
	cmds := make([]*redis.StringSliceCmd, len(nss))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ns := range nss {
			cmds[i] = p.ZRangeByLex(ctx, key(s.nsPrefix(ns)), &redis.ZRangeBy{Min: "[" + from, Max: "+", Count: int64(limit)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, c := range cmds {
		if v := c.Val(); len(v) > 0 {
			out[i] = v
		}
	}
	return out, nil
}

// Ping implements tagstore.Store.
func (s *Store) Ping(ctx context.Context) error { return s.client.Ping(ctx).Err() }

// Secret implements tagstore.Store. The first process to ask creates it.
func (s *Store) Secret(ctx context.Context) ([]byte, error) {
	s.secretMu.Lock()
	defer s.secretMu.Unlock()
	if s.secret != nil {
		return s.secret, nil
	}
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	key := s.prefix + "secret"
	if err := s.client.SetNX(ctx, key, hex.EncodeToString(fresh), 0).Err(); err != nil {
		return nil, err
	}
	stored, err := s.client.Get(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	secret, err := hex.DecodeString(stored)
	if err != nil || len(secret) != 32 {
		return nil, fmt.Errorf("redisstore: %s does not hold 32 hex-encoded bytes", key)
	}
	s.secret = secret
	return secret, nil
}

// Close implements tagstore.Store.
func (s *Store) Close() error { return s.client.Close() }
