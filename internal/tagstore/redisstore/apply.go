package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/tagstore"
)

var (
	//go:embed late.lua
	lateSource string
	//go:embed apply.lua
	applySource string
	//go:embed claim.lua
	claimSource string
	//go:embed scan.lua
	scanSource string
	//go:embed strings.lua
	stringsSource string
	//go:embed count.lua
	countSource string
	//go:embed filters.lua
	filtersSource string
	//go:embed forget.lua
	forgetSource string
	//go:embed forget_keys.lua
	forgetKeysSource string

	applyScript        = script("", applySource)
	applyFreeingScript = script("allow-oom", applySource)
	claimScript        = script("", claimSource)
	claimFreeingScript = script("allow-oom", claimSource)
	scanScript         = script("no-writes", filtersSource+scanSource)
	stringsScript      = script("no-writes", filtersSource+stringsSource)
	countScript        = script("no-writes", filtersSource+countSource)
	forgetScript       = script("allow-oom", forgetSource)
	forgetKeysScript   = script("allow-oom", forgetKeysSource)
)

// script returns a script of body, declaring flags in its #!lua line, after
// the functions of late.lua. A script that may write runs only when the
// server has memory to spare, unless it is flagged allow-oom: tagway runs
// the changes that only remove tags that way, so that a full server can
// still be emptied.
func script(flags, body string) *redis.Script {
	shebang := "#!lua"
	if flags != "" {
		shebang += " flags=" + flags
	}
	return redis.NewScript(shebang + "\n" + lateSource + body)
}

// Apply implements tagstore.Store.
//
// A change to a Placed name (no account, or an S3 bucket's missing region)
// first learns, or records, the resource's owner and home (claim.lua), since
// its tags live in the group of that placement. Then each group's changes
// run as one apply.lua.
//
// A change that sets tags may create its group, which must be in the
// registry before the change is visible, or a listing could miss it. On one
// server the registration rides in the same pipeline, ahead of the scripts,
// and one connection executes it first; on a Cluster the registry may live
// on another node, so it is written in a round trip of its own.
//
// Every script checks the change's deadline (Store.deadline) by the
// server's clock before its first write, so that no change lands after its
// caller gave up on it.
func (s *Store) Apply(ctx context.Context, changes []tagstore.Change) []error {
	deadline := s.deadline(ctx)
	errs := s.apply(ctx, changes, deadline)
	s.settle(errs, deadline)
	return errs
}

// settle waits, when a change failed with its fate unknown (a connection
// lost or timed out after the script may have been sent), until its
// deadline has passed by the server's clock: from then on the script can
// no longer apply it, so the caller, told that it failed, can rely on it
// never landing after a later change.
func (s *Store) settle(errs []error, deadline int64) {
	for _, err := range errs {
		if err != nil && inDoubt(err) {
			local := time.UnixMilli(deadline - s.offset.Load())
			time.Sleep(time.Until(local) + settleMargin)
			return
		}
	}
}

// settleMargin covers the error of the estimate of the server's clock.
const settleMargin = 10 * time.Millisecond

// inDoubt reports whether a change that failed with err may still be
// queued at the server: not a reply of the server's (a script's refusal,
// OOM, NOSCRIPT ...), nor a connection that never opened.
func inDoubt(err error) bool {
	var reply redis.Error
	if errors.As(err, &reply) || errors.Is(err, tagstore.ErrLate) || errors.Is(err, tagstore.ErrFull) ||
		errors.Is(err, tagstore.ErrNotOwner) || errors.Is(err, tagstore.ErrNotHome) || errors.Is(err, tagstore.ErrTagLimitExceeded) ||
		errors.Is(err, ErrNotReplicated) {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return true
}

func (s *Store) apply(ctx context.Context, changes []tagstore.Change, deadline int64) []error {
	errs := make([]error, len(changes))
	origin := originField(tagstore.OriginOf(ctx))
	groups := make([]arn.Group, len(changes))
	todo := make([]bool, len(changes))
	var claims []int
	for i, c := range changes {
		groups[i], todo[i] = c.Resource.Group("", ""), true
		if c.Resource.Placed() {
			claims = append(claims, i)
		}
	}
	if len(claims) > 0 {
		calls := make([]scriptCall, len(claims))
		for j, i := range claims {
			calls[j] = s.claimCall(changes[i], deadline)
		}
		cmds, waits := s.runChanges(ctx, calls, nil)
		for j, cmd := range cmds {
			i := claims[j]
			p, apply, err := claimResult(cmd)
			if err == nil && waits[j] != nil {
				err = waits[j]
			}
			groups[i] = p.In(changes[i].Resource)
			todo[i], errs[i] = err == nil && apply, err
		}
	}

	// Batches: one per group, and apart the changes that only remove.
	type batchKey struct {
		group   string
		freeing bool
	}
	var order []batchKey
	batches := map[batchKey][]int{}
	var register []string
	registered := map[string]bool{}
	var keyPairs [][2]string // (group, key) registrations due
	keyDue := map[[2]string]bool{}
	now := s.nowMs()
	for i, c := range changes {
		if !todo[i] {
			continue
		}
		k := batchKey{groups[i].Key(), len(c.Set) == 0}
		if batches[k] == nil {
			order = append(order, k)
		}
		batches[k] = append(batches[k], i)
		if len(c.Set) > 0 && !registered[k.group] {
			registered[k.group] = true
			register = append(register, k.group)
		}
		for key := range c.Set {
			pr := [2]string{k.group, key}
			if !keyDue[pr] && s.leases.due(k.group, key, now) {
				keyDue[pr] = true
				keyPairs = append(keyPairs, pr)
			}
		}
	}
	if len(order) == 0 {
		return errs
	}
	calls := make([]scriptCall, len(order))
	for j, k := range order {
		calls[j] = s.applyCall(groups[batches[k][0]], changes, batches[k], deadline, k.freeing, origin)
	}
	registerNow := len(register) > 0
	if _, cluster := s.client.(*redis.ClusterClient); cluster && registerNow {
		cmds, _ := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			s.register(ctx, p, register)
			s.registerKeys(ctx, p, keyPairs, now)
			return nil
		})
		if err := firstErr(cmds); err != nil {
			for i := range changes {
				if todo[i] {
					errs[i] = err
				}
			}
			return errs
		}
		registerNow = false
		s.leases.renew(keyPairs, now)
	}
	var registration []redis.Cmder
	cmds, waits := s.runChanges(ctx, calls, func(p redis.Pipeliner) {
		if registerNow {
			registration = s.register(ctx, p, register)
			registration = append(registration, s.registerKeys(ctx, p, keyPairs, now)...)
		}
	})
	regErr := firstErr(registration)
	if registerNow && regErr == nil {
		s.leases.renew(keyPairs, now)
	}
	for j, k := range order {
		idx := batches[k]
		for m, err := range applyResults(cmds[j], changes, idx) {
			i := idx[m]
			if err == nil && waits[j] != nil {
				err = waits[j]
			}
			errs[i] = err
			if regErr != nil && len(changes[i].Set) > 0 {
				// The change may have applied in an unregistered group:
				// report it failed, so that the caller's retry registers it.
				errs[i] = regErr
			}
		}
	}
	return errs
}

// register queues the registration of groups about to receive resources:
// each enters the registry, and its generation moves on, which tells
// ForgetEmpty that a change may be on its way.
func (s *Store) register(ctx context.Context, p redis.Pipeliner, groups []string) []redis.Cmder {
	members := make([]redis.Z, len(groups))
	cmds := make([]redis.Cmder, 0, len(groups)+1)
	for i, g := range groups {
		members[i] = redis.Z{Member: g}
		cmds = append(cmds, p.HIncrBy(ctx, s.genKey(), g, 1))
	}
	return append(cmds, p.ZAdd(ctx, s.groupsKey(), members...))
}

func firstErr(cmds []redis.Cmder) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return storeErr(err)
		}
	}
	return nil
}

// storeErr turns a server's refusal for lack of memory into tagstore.ErrFull.
func storeErr(err error) error {
	if redis.HasErrorPrefix(err, "OOM") {
		return fmt.Errorf("%w: %v", tagstore.ErrFull, err)
	}
	return err
}

// scriptCall is one run of a script: its keys and arguments.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// runScripts runs each call in one pipeline, after what before queues, and
// runs again with EVAL (which also caches the script) the calls a server
// answered NOSCRIPT, as a new Cluster master or a flushed script cache
// does.
func (s *Store) runScripts(ctx context.Context, calls []scriptCall, before func(redis.Pipeliner)) []*redis.Cmd {
	cmds, _ := s.runScriptsOn(ctx, s.client, calls, before, false)
	return cmds
}

// runChanges runs calls that write, as runScripts does, and, when the
// store asks replicas to confirm changes, WAITs for them after the calls on
// the connection that sent them; it returns, per call, the error of a
// confirmation that did not come.
func (s *Store) runChanges(ctx context.Context, calls []scriptCall, before func(redis.Pipeliner)) ([]*redis.Cmd, []error) {
	if s.replication.Replicas == 0 {
		return s.runScripts(ctx, calls, before), make([]error, len(calls))
	}
	cluster, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return s.runScriptsOn(ctx, s.client, calls, before, true)
	}
	// WAIT has no key: on a Cluster it must go to the master that ran the
	// writes, so the calls are sent node by node.
	if before != nil {
		cmds, _ := cluster.Pipelined(ctx, func(p redis.Pipeliner) error { before(p); return nil })
		if err := firstErr(cmds); err != nil {
			return failAll(calls, err)
		}
	}
	cmds, waits := make([]*redis.Cmd, len(calls)), make([]error, len(calls))
	byNode := map[*redis.Client][]int{}
	var order []*redis.Client
	for i, c := range calls {
		node, err := cluster.MasterForKey(ctx, c.keys[0])
		if err != nil {
			cmds[i] = redis.NewCmd(ctx)
			cmds[i].SetErr(err)
			continue
		}
		if byNode[node] == nil {
			order = append(order, node)
		}
		byNode[node] = append(byNode[node], i)
	}
	for _, node := range order {
		idx := byNode[node]
		sub := make([]scriptCall, len(idx))
		for j, i := range idx {
			sub[j] = calls[i]
		}
		subCmds, subWaits := s.runScriptsOn(ctx, node, sub, nil, true)
		for j, i := range idx {
			cmds[i], waits[i] = subCmds[j], subWaits[j]
		}
	}
	return cmds, waits
}

func failAll(calls []scriptCall, err error) ([]*redis.Cmd, []error) {
	cmds := make([]*redis.Cmd, len(calls))
	for i := range cmds {
		cmds[i] = redis.NewCmd(context.Background())
		cmds[i].SetErr(err)
	}
	return cmds, make([]error, len(calls))
}

// runScriptsOn runs calls on client, as runScripts describes, ending each
// pipeline with WAIT when wait is set.
func (s *Store) runScriptsOn(ctx context.Context, client redis.Cmdable, calls []scriptCall, before func(redis.Pipeliner), wait bool) ([]*redis.Cmd, []error) {
	cmds := make([]*redis.Cmd, len(calls))
	waits := make([]error, len(calls))
	run := func(eval bool, which []int) {
		var waitCmd *redis.IntCmd
		_, _ = client.Pipelined(ctx, func(p redis.Pipeliner) error {
			if before != nil {
				before(p)
				before = nil
			}
			for _, i := range which {
				c := calls[i]
				if eval {
					cmds[i] = c.script.Eval(ctx, p, c.keys, c.args...)
				} else {
					cmds[i] = c.script.EvalSha(ctx, p, c.keys, c.args...)
				}
			}
			if wait {
				waitCmd = redis.NewIntCmd(ctx, "wait", s.replication.Replicas, s.replication.Timeout.Milliseconds())
				_ = p.Process(ctx, waitCmd)
			}
			return nil
		})
		if waitCmd == nil {
			return
		}
		err := waitCmd.Err()
		if n := waitCmd.Val(); err == nil && n < int64(s.replication.Replicas) {
			err = fmt.Errorf("%w: %d of %d replicas confirmed the change within %v", ErrNotReplicated, n, s.replication.Replicas, s.replication.Timeout)
		}
		for _, i := range which {
			waits[i] = err
		}
	}
	all := make([]int, len(calls))
	for i := range all {
		all[i] = i
	}
	run(false, all)
	var missing []int
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		run(true, missing)
	}
	return cmds, waits
}

// ErrNotReplicated reports a change the master applied but too few replicas
// confirmed in time: a failover now could lose it. Retrying is safe.
var ErrNotReplicated = errors.New("the change was applied but not confirmed by the replicas")

func (s *Store) claimCall(c tagstore.Change, deadline int64) scriptCall {
	p := c.Place()
	sc := claimScript
	if len(c.Set) == 0 {
		sc = claimFreeingScript
	}
	return scriptCall{
		script: sc,
		keys:   []string{s.groupPrefix(c.Resource.Group("", "")) + "place"},
		args:   []any{c.Resource.Ident(), p.Owner, p.Home, flag(len(c.Set) > 0), flag(c.Resource.Account == ""), flag(c.AnyOwner), homeWanted(c), deadline},
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
		return p, false, storeErr(err)
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
	case 4:
		return p, false, tagstore.ErrLate
	}
	return p, false, fmt.Errorf("redisstore: unexpected reply %v from claim script", v)
}

// applyCall is the apply.lua run of the changes idx, all of group g.
func (s *Store) applyCall(g arn.Group, changes []tagstore.Change, idx []int, deadline int64, freeing bool, origin string) scriptCall {
	p := s.groupPrefix(g)
	minID := ""
	if s.feedRetention > 0 {
		minID = strconv.FormatInt(s.feedCutoff(), 10)
	}
	args := []any{p, deadline, minID, s.feedChannel, g.Key(), origin, len(idx)}
	for _, i := range idx {
		c := changes[i]
		args = append(args, c.Resource.Ident(), c.MaxTags, c.MaxTotal, len(c.ExemptPrefixes))
		for _, e := range c.ExemptPrefixes {
			args = append(args, e)
		}
		args = append(args, len(c.Set))
		for k, v := range c.Set {
			args = append(args, k, v)
		}
		args = append(args, len(c.Remove))
		expected := 0
		for _, k := range c.Remove {
			args = append(args, k)
			if _, ok := c.Expect[k]; ok {
				expected++
			}
		}
		args = append(args, expected)
		if expected > 0 {
			for _, k := range c.Remove {
				if want, ok := c.Expect[k]; ok {
					args = append(args, k, want)
				}
			}
		}
	}
	sc := applyScript
	if freeing {
		sc = applyFreeingScript
	}
	return scriptCall{script: sc, keys: []string{p + "known"}, args: args}
}

// applyResults reads apply.lua's reply for the changes idx.
func applyResults(cmd *redis.Cmd, changes []tagstore.Change, idx []int) []error {
	errs := make([]error, len(idx))
	fill := func(err error) []error {
		for m := range errs {
			errs[m] = err
		}
		return errs
	}
	v, err := cmd.Result()
	if err != nil {
		return fill(storeErr(err))
	}
	if n, ok := v.(int64); ok && n == -1 {
		return fill(tagstore.ErrLate)
	}
	results, ok := v.([]any)
	if !ok || len(results) != len(idx) {
		return fill(fmt.Errorf("redisstore: unexpected reply %v from apply script", v))
	}
	for m, r := range results {
		c := changes[idx[m]]
		switch r := r.(type) {
		case int64:
			if r != 0 {
				errs[m] = fmt.Errorf("redisstore: unexpected result %v from apply script", r)
			}
		case []any:
			n, _ := r[0].(int64)
			if total, _ := r[1].(int64); total == 1 {
				errs[m] = &tagstore.LimitError{Count: int(n), Max: c.MaxTotal}
			} else {
				errs[m] = &tagstore.LimitError{Count: int(n), Max: c.MaxTags}
			}
		default:
			errs[m] = fmt.Errorf("redisstore: unexpected result %v from apply script", r)
		}
	}
	return errs
}
