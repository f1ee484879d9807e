package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/access"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/dialect/aws"
	"github.com/tagway/tagway/internal/dialect/calltest"
	"github.com/tagway/tagway/internal/dialect/huawei"
	"github.com/tagway/tagway/internal/identity"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
)

func parseName(s string) (arn.Name, error) { return arn.Parse(s) }

// fill tags, in account acct, n resources of the given type prefix with
// tags, 100 to a call, from a few workers at once.
func fill(ctx context.Context, st tagstore.Store, accounts []int, perAccount int, typ string, tags map[string]string) error {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for acct := range work {
				for start := 0; start < perAccount; start += 100 {
					var cs []tagstore.Change
					for i := start; i < min(start+100, perAccount); i++ {
						n, _ := arn.Parse(fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:%s/r-%08d", acct, typ, i))
						cs = append(cs, tagstore.Change{Resource: n, Set: tags})
					}
					for _, err := range st.Apply(ctx, cs) {
						if err != nil {
							select {
							case errs <- err:
							default:
							}
							return
						}
					}
				}
			}
		}()
	}
	for _, a := range accounts {
		work <- a
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func accounts(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

// listAll pages through a listing and returns how many resources it saw.
func listAll(ctx context.Context, svc *tagging.Service, req *tagwayv1.ListResourcesRequest) (int, error) {
	n := 0
	for {
		resp, err := svc.ListResources(ctx, req)
		if err != nil {
			return 0, err
		}
		n += len(resp.GetResources())
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return n, nil
		}
	}
}

// listingsByGroups times the listings of the issue: 100 matches of one tag
// filter in 5 accounts, with the store holding those 5 accounts and then
// Groups accounts, listed over every account (an admin's scope); and 100
// matches in 5 resource types of one account holding 5 and then Groups
// types (an AWS caller's scope).
func (r *run) listingsByGroups(ctx context.Context) error {
	rd, err := startRedis(ctx)
	if err != nil {
		return err
	}
	defer rd.stop()
	svc, err := tagging.New(ctx, rd.store, tagging.WithLogger(r.log))
	if err != nil {
		return err
	}
	common := map[string]string{"env": "prod"}
	rare := map[string]string{"env": "prod", "rare": "yes"}
	if err := fill(ctx, rd.store, accounts(1, 5), 20, "instance", rare); err != nil {
		return err
	}
	if err := fill(ctx, rd.store, accounts(1, 5), 100, "volume", common); err != nil {
		return err
	}
	filter := []*tagwayv1.TagFilter{{Key: "rare", Values: []string{"yes"}}}
	measure := func() (list, keys, values float64, err error) {
		list, err = timed(100, func() error {
			n, err := listAll(ctx, svc, &tagwayv1.ListResourcesRequest{TagFilters: filter, PageSize: 100})
			if err == nil && n != 100 {
				err = fmt.Errorf("bench: listed %d of 100", n)
			}
			return err
		})
		if err != nil {
			return
		}
		keys, err = timed(100, func() error {
			req := &tagwayv1.ListTagKeysRequest{PageSize: 100}
			for {
				resp, err := svc.ListTagKeys(ctx, req)
				if err != nil {
					return err
				}
				if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
					return nil
				}
			}
		})
		if err != nil {
			return
		}
		values, err = timed(100, func() error {
			req := &tagwayv1.ListTagValuesRequest{TagKey: "rare", PageSize: 100}
			for {
				resp, err := svc.ListTagValues(ctx, req)
				if err != nil {
					return err
				}
				if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
					return nil
				}
			}
		})
		return
	}
	l5, k5, v5, err := measure()
	if err != nil {
		return err
	}
	if err := fill(ctx, rd.store, accounts(1000, r.cfg.Groups-5), 20, "volume", common); err != nil {
		return err
	}
	lm, km, vm, err := measure()
	if err != nil {
		return err
	}
	r.row(fmt.Sprintf("ListResources, 100 matches in 5 of %d accounts vs of 5", r.cfg.Groups), lm, l5, "us")
	r.row(fmt.Sprintf("ListTagKeys over %d accounts vs 5", r.cfg.Groups), km, k5, "us")
	r.row(fmt.Sprintf("ListTagValues over %d accounts vs 5", r.cfg.Groups), vm, v5, "us")

	// One account, many types: what were as many namespaces.
	one := []*tagwayv1.ResourceScope{{Partitions: []string{"aws"}, Regions: []string{"us-east-1"}, Accounts: []string{fmt.Sprintf("%012d", 999999)}}}
	if err := fillTypes(ctx, rd.store, 999999, 5, rare); err != nil {
		return err
	}
	one5, err := timed(20, func() error {
		_, err := listAll(ctx, svc, &tagwayv1.ListResourcesRequest{Scopes: one, TagFilters: filter, PageSize: 100})
		return err
	})
	if err != nil {
		return err
	}
	if err := fillTypes(ctx, rd.store, 999999, r.cfg.Groups, common); err != nil {
		return err
	}
	oneM, err := timed(20, func() error {
		_, err := listAll(ctx, svc, &tagwayv1.ListResourcesRequest{Scopes: one, TagFilters: filter, PageSize: 100})
		return err
	})
	if err != nil {
		return err
	}
	r.row(fmt.Sprintf("ListResources in one account of %d types vs 5", r.cfg.Groups), oneM, one5, "us")
	return nil
}

// fillTypes tags, in one account, 20 resources of each of types types.
func fillTypes(ctx context.Context, st tagstore.Store, acct, types int, tags map[string]string) error {
	for t := 0; t < types; t += 5 {
		var cs []tagstore.Change
		for tt := t; tt < min(t+5, types); tt++ {
			for i := range 20 {
				n, _ := arn.Parse(fmt.Sprintf("arn:aws:ssm:us-east-1:%012d:t%05d/r-%d", acct, tt, i))
				cs = append(cs, tagstore.Change{Resource: n, Set: tags})
			}
		}
		for _, err := range st.Apply(ctx, cs) {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// bySize compares a change and a listing in a store of Small resources
// with the same in a store of Large resources.
func (r *run) bySize(ctx context.Context) error {
	measure := func(size int) (untag, list float64, err error) {
		rd, err := startRedis(ctx)
		if err != nil {
			return 0, 0, err
		}
		defer rd.stop()
		svc, err := tagging.New(ctx, rd.store, tagging.WithLogger(r.log))
		if err != nil {
			return 0, 0, err
		}
		// 1000 resources an account; account 1 also has 100 matches.
		if err := fill(ctx, rd.store, accounts(10, size/1000), 1000, "volume", map[string]string{"env": "prod"}); err != nil {
			return 0, 0, err
		}
		if err := fill(ctx, rd.store, accounts(1, 1), 100, "instance", map[string]string{"env": "prod", "rare": "yes"}); err != nil {
			return 0, 0, err
		}
		before := rd.scriptMicros()
		for round := range 100 {
			for _, remove := range []bool{false, true} {
				for _, err := range rd.store.Apply(ctx, changes(batch(5, round), "v", remove)) {
					if err != nil {
						return 0, 0, err
					}
				}
			}
		}
		untag = (rd.scriptMicros() - before) / (100 * 20)
		scope := []*tagwayv1.ResourceScope{{Partitions: []string{"aws"}, Regions: []string{"us-east-1"}, Accounts: []string{fmt.Sprintf("%012d", 1)}}}
		list, err = timed(50, func() error {
			_, err := listAll(ctx, svc, &tagwayv1.ListResourcesRequest{Scopes: scope, TagFilters: []*tagwayv1.TagFilter{{Key: "rare", Values: []string{"yes"}}}, PageSize: 100})
			return err
		})
		return untag, list, err
	}
	us, ls, err := measure(r.cfg.Small)
	if err != nil {
		return err
	}
	ul, ll, err := measure(r.cfg.Large)
	if err != nil {
		return err
	}
	r.row(fmt.Sprintf("Redis CPU of a tag+untag, %d vs %d stored", r.cfg.Large, r.cfg.Small), ul, us, "us")
	r.row(fmt.Sprintf("ListResources of 100 matches, %d vs %d stored", r.cfg.Large, r.cfg.Small), ll, ls, "us")
	return nil
}

// dialects compares, in-process on the memory store, an AWS
// UntagResources of 20 ARNs and a Huawei untag of one resource with the
// core calls they make: once with the bare core, and once with the same
// request (the dialect's limits, a caller) through the access layer, as the
// dialect makes it. The requests are not parsed from HTTP text, the HTTP
// server's work for any handler (package calltest).
func (r *run) dialects(ctx context.Context) error {
	svc, err := tagging.New(ctx, memstore.New(), tagging.WithLogger(r.log))
	if err != nil {
		return err
	}
	core := access.New(svc)
	compare := func(name string, h http.Handler, target string, header http.Header, body, surface string, req *tagwayv1.UntagResourcesRequest) error {
		if _, err := svc.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: req.GetResources(), Tags: map[string]string{"a": "1"}}); err != nil {
			return err
		}
		bare := &tagwayv1.UntagResourcesRequest{Resources: req.GetResources(), TagKeys: req.GetTagKeys()}
		caller := identity.NewContext(ctx, identity.Caller{Surface: surface, Peer: "127.0.0.1:1"})
		c := calltest.New(h, target, header, body)
		us, err := turns(20000, func() error {
			_, err := svc.UntagResources(ctx, bare)
			return err
		}, func() error {
			_, err := core.UntagResources(caller, req)
			return err
		}, func() error {
			if w := c.Call(); w.Code != http.StatusOK {
				return fmt.Errorf("bench: %s answered %d %s", name, w.Code, w.Body)
			}
			return nil
		})
		if err != nil {
			return err
		}
		r.row(name+" vs the bare core call, in-process", us[2], us[0], "us")
		r.row(name+" vs its core call (via access)", us[2], us[1], "us")
		return nil
	}
	arns := batch(123456789012, 0)
	if err := compare("AWS untag of 20 ARNs", aws.New(core, aws.Auth{AllowRemote: true}), "/",
		http.Header{"X-Amz-Target": {aws.TargetPrefix + "UntagResources"}},
		`{"ResourceARNList":["`+strings.Join(arns, `","`)+`"],"TagKeys":["absent"]}`, identity.SurfaceAWS,
		&tagwayv1.UntagResourcesRequest{Resources: arns, TagKeys: []string{"absent"}, Limits: &tagwayv1.Limits{MaxResources: 20, MaxTags: 50}}); err != nil {
		return err
	}
	return compare("Huawei untag of 1 resource", huawei.New(core, huawei.Auth{AllowRemote: true}), "/v1/organizations/resources/ou-abcdefgh/untag",
		http.Header{"Content-Type": {"application/json"}}, `{"tag_keys":["absent"]}`, identity.SurfaceHuawei,
		&tagwayv1.UntagResourcesRequest{Resources: []string{"arn:huaweicloud:organizations:::ou/ou-abcdefgh"}, TagKeys: []string{"absent"}, Limits: &tagwayv1.Limits{MaxResources: 1, MaxTags: 20}})
}
