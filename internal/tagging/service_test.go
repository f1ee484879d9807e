package tagging_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/arn"
	"github.com/tagway/tagway/internal/redistest"
	"github.com/tagway/tagway/internal/tagging"
	"github.com/tagway/tagway/internal/tagstore"
	"github.com/tagway/tagway/internal/tagstore/memstore"
	"github.com/tagway/tagway/internal/tagstore/redisstore"
)

// backends runs fn once per store backend, each with a fresh store.
func backends(t *testing.T, fn func(t *testing.T, newStore func(t *testing.T) tagstore.Store)) {
	t.Run("memory", func(t *testing.T) {
		fn(t, func(t *testing.T) tagstore.Store {
			s := memstore.New()
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Run(t)
		fn(t, func(t *testing.T) tagstore.Store {
			if _, err := srv.Do("FLUSHALL"); err != nil {
				t.Fatal(err)
			}
			s, err := redisstore.Open(context.Background(), srv.URL(), redisstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

func newService(t testing.TB, st tagstore.Store, opts ...tagging.Option) *tagging.Service {
	t.Helper()
	opts = append([]tagging.Option{tagging.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	s, err := tagging.New(context.Background(), st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var ctx = context.Background()

func tagReq(resources []string, kv ...string) *tagwayv1.TagResourcesRequest {
	r := &tagwayv1.TagResourcesRequest{Resources: resources, Tags: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Tags[kv[i]] = kv[i+1]
	}
	return r
}

func mustTag(t testing.TB, s *tagging.Service, resources []string, kv ...string) {
	t.Helper()
	resp, err := s.TagResources(ctx, tagReq(resources, kv...))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetFailedResources()) != 0 {
		t.Fatalf("failures: %v", resp.GetFailedResources())
	}
}

func tagsOf(t *testing.T, s *tagging.Service, resource string) map[string]string {
	t.Helper()
	resp, err := s.GetResourceTags(ctx, &tagwayv1.GetResourceTagsRequest{Resources: []string{resource}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResources()) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, tg := range resp.GetResources()[0].GetTags() {
		m[tg.GetKey()] = tg.GetValue()
	}
	return m
}

const (
	r1 = "arn:aws:ec2:us-east-1:111111111111:instance/i-1"
	r2 = "arn:aws:ec2:us-east-1:111111111111:instance/i-2"
	r3 = "arn:aws:s3:::bucket"
)

func TestTagUntagGet(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(*testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		mustTag(t, s, []string{r1, r2, r1}, "env", "prod", "team", "a")
		resp, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{r1, r3}, TagKeys: []string{"env", "nope", "env"}})
		if err != nil || len(resp.GetFailedResources()) != 0 {
			t.Fatalf("untag: %v, %v", resp, err)
		}
		if got := tagsOf(t, s, r1); fmt.Sprint(got) != "map[team:a]" {
			t.Fatalf("r1 tags = %v", got)
		}
		if got := tagsOf(t, s, r2); fmt.Sprint(got) != "map[env:prod team:a]" {
			t.Fatalf("r2 tags = %v", got)
		}
		if got := tagsOf(t, s, r3); got != nil {
			t.Fatalf("untagging an unknown resource made it known: %v", got)
		}
		g, err := s.GetResourceTags(ctx, &tagwayv1.GetResourceTagsRequest{Resources: []string{r3, r2, r1}})
		if err != nil || len(g.GetResources()) != 2 || g.GetResources()[0].GetResource() != r2 {
			t.Fatalf("get: %v, %v", g, err)
		}
	})
}

// wantInvalid checks an InvalidArgument (or, for PERMISSION_DENIED, a
// PermissionDenied) error with reason and field.
func wantInvalid(t *testing.T, err error, reason, field string, index int) {
	t.Helper()
	code := codes.InvalidArgument
	if reason == tagging.ReasonPermissionDenied {
		code = codes.PermissionDenied
	}
	if status.Code(err) != code {
		t.Fatalf("error %v, want %v", err, code)
	}
	info := tagging.Info(err)
	if info == nil || info.GetReason() != reason {
		t.Fatalf("error %v: reason %v, want %s", err, info, reason)
	}
	if reason != tagging.ReasonInvalidParameter && reason != tagging.ReasonPermissionDenied {
		return
	}
	v, ok := tagging.ViolationOf(err)
	if !ok || v.Field != field || v.Index != index || v.Problem == "" {
		t.Fatalf("error %v: violation %+v, want field %s index %d", err, v, field, index)
	}
	if !strings.HasPrefix(status.Convert(err).Message(), field) {
		t.Fatalf("message %q does not name %s", status.Convert(err).Message(), field)
	}
}

func TestValidation(t *testing.T) {
	s := newService(t, memstore.New(), tagging.WithReservedKeyPrefixes("sys:"))
	many := func(n int, f func(i int) string) []string {
		var out []string
		for i := range n {
			out = append(out, f(i))
		}
		return out
	}
	arns := func(n int) []string {
		return many(n, func(i int) string { return fmt.Sprintf("arn:aws:s3:::b%d", i) })
	}
	tagsN := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprint("k", i)] = "v"
		}
		return m
	}
	long := func(n int) string { return strings.Repeat("é", n) }
	cases := []struct {
		name  string
		call  func() error
		field string
		index int
	}{
		{"no resources", func() error { _, err := s.TagResources(ctx, tagReq(nil, "k", "v")); return err }, "resources", -1},
		{"101 resources", func() error { _, err := s.TagResources(ctx, tagReq(arns(101), "k", "v")); return err }, "resources", -1},
		{"21 resources under limits", func() error {
			r := tagReq(arns(21), "k", "v")
			r.Limits = &tagwayv1.Limits{MaxResources: 20}
			_, err := s.TagResources(ctx, r)
			return err
		}, "resources", -1},
		{"malformed name", func() error {
			_, err := s.TagResources(ctx, tagReq([]string{r1, r2, "i-123"}, "k", "v"))
			return err
		}, "resources", 2},
		{"control character in name", func() error {
			_, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{"arn:aws:s3:::a\nb"}, TagKeys: []string{"k"}})
			return err
		}, "resources", 0},
		{"no tags", func() error { _, err := s.TagResources(ctx, tagReq([]string{r1})); return err }, "tags", -1},
		{"51 tags", func() error {
			_, err := s.TagResources(ctx, &tagwayv1.TagResourcesRequest{Resources: []string{r1}, Tags: tagsN(51)})
			return err
		}, "tags", -1},
		{"empty key", func() error { _, err := s.TagResources(ctx, tagReq([]string{r1}, "", "v")); return err }, "tags", -1},
		{"129-character key", func() error { _, err := s.TagResources(ctx, tagReq([]string{r1}, long(129), "v")); return err }, "tags", -1},
		{"257-character value", func() error { _, err := s.TagResources(ctx, tagReq([]string{r1}, "k", long(257))); return err }, "tags", -1},
		{"256-character value over a 255 limit", func() error {
			r := tagReq([]string{r1}, "k", long(256))
			r.Limits = &tagwayv1.Limits{MaxValueLength: 255}
			_, err := s.TagResources(ctx, r)
			return err
		}, "tags", -1},
		{"reserved prefix from limits", func() error {
			r := tagReq([]string{r1}, "AWS:x", "v")
			r.Limits = &tagwayv1.Limits{ReservedKeyPrefixes: []string{"aws:"}}
			_, err := s.TagResources(ctx, r)
			return err
		}, "tags", -1},
		{"reserved prefix from the server", func() error {
			_, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{r1}, TagKeys: []string{"ok", "SYS:x"}})
			return err
		}, "tag_keys", 1},
		{"restricted characters", func() error {
			r := tagReq([]string{r1}, "a#b", "v")
			r.Limits = &tagwayv1.Limits{RestrictCharacters: true}
			_, err := s.TagResources(ctx, r)
			return err
		}, "tags", -1},
		{"restricted trailing space", func() error {
			r := tagReq([]string{r1}, "k", "v ")
			r.Limits = &tagwayv1.Limits{RestrictCharacters: true}
			_, err := s.TagResources(ctx, r)
			return err
		}, "tags", -1},
		{"negative limit", func() error {
			r := tagReq([]string{r1}, "k", "v")
			r.Limits = &tagwayv1.Limits{MaxTags: -1}
			_, err := s.TagResources(ctx, r)
			return err
		}, "limits.max_tags", -1},
		{"expected value for a key not removed", func() error {
			_, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{r1}, TagKeys: []string{"a"}, ExpectedValues: map[string]string{"b": "x"}})
			return err
		}, "expected_values", -1},
		{"no keys", func() error {
			_, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{r1}})
			return err
		}, "tag_keys", -1},
		{"51 keys", func() error {
			_, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{r1}, TagKeys: many(51, func(i int) string { return fmt.Sprint(i) })})
			return err
		}, "tag_keys", -1},
		{"get 101", func() error {
			_, err := s.GetResourceTags(ctx, &tagwayv1.GetResourceTagsRequest{Resources: arns(101)})
			return err
		}, "resources", -1},
		{"negative resources page size", func() error {
			_, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{PageSize: -5})
			return err
		}, "page_size", -1},
		{"negative page size", func() error {
			_, err := s.ListTagKeys(ctx, &tagwayv1.ListTagKeysRequest{PageSize: -1})
			return err
		}, "page_size", -1},
		{"51 filters", func() error {
			var fs []*tagwayv1.TagFilter
			for i := range 51 {
				fs = append(fs, &tagwayv1.TagFilter{Key: fmt.Sprint(i)})
			}
			_, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{TagFilters: fs})
			return err
		}, "tag_filters", -1},
		{"21 filter values", func() error {
			_, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{TagFilters: []*tagwayv1.TagFilter{{Key: "a"}, {Key: "k", Values: many(21, func(i int) string { return fmt.Sprint(i) })}}})
			return err
		}, "tag_filters", 1},
		{"empty filter key", func() error {
			_, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{TagFilters: []*tagwayv1.TagFilter{{Key: ""}}})
			return err
		}, "tag_filters", 0},
		{"untagged with filters", func() error {
			_, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{UntaggedOnly: true, TagFilters: []*tagwayv1.TagFilter{{Key: "a"}}})
			return err
		}, "untagged_only", -1},
		{"bad scope", func() error {
			_, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{Scopes: []*tagwayv1.ResourceScope{{}, {Regions: []string{"us east"}}}})
			return err
		}, "scopes", 1},
		{"scope type with a colon", func() error {
			_, err := s.ListTagKeys(ctx, &tagwayv1.ListTagKeysRequest{Scopes: []*tagwayv1.ResourceScope{{ResourceTypes: []string{"a:b"}}}})
			return err
		}, "scopes", 0},
		{"no tag key", func() error {
			_, err := s.ListTagValues(ctx, &tagwayv1.ListTagValuesRequest{})
			return err
		}, "tag_key", -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantInvalid(t, tc.call(), tagging.ReasonInvalidParameter, tc.field, tc.index)
		})
	}
	// Nothing a refused call named was changed.
	for _, r := range append(arns(101), r1, r2) {
		if got := tagsOf(t, s, r); got != nil {
			t.Fatalf("%s was changed by a refused call: %v", r, got)
		}
	}
}

func TestUntagExpectedValues(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(*testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		mustTag(t, s, []string{r1, r2}, "env", "prod", "team", "a")
		mustTag(t, s, []string{r2}, "env", "dev")
		resp, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{
			Resources: []string{r1, r2}, TagKeys: []string{"env", "team"}, ExpectedValues: map[string]string{"env": "prod"},
		})
		if err != nil || len(resp.GetFailedResources()) != 0 {
			t.Fatal(resp, err)
		}
		if got := tagsOf(t, s, r1); len(got) != 0 {
			t.Fatalf("r1 = %v", got)
		}
		if got := tagsOf(t, s, r2); fmt.Sprint(got) != "map[env:dev]" {
			t.Fatalf("r2 = %v", got)
		}
	})
}

func TestLimits(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(*testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		// Names of no known kind: only the server's ceilings and the call's
		// limits apply.
		r1, r2 := "arn:example:svc:r1:1:thing/1", "arn:example:svc:r1:1:thing/2"
		var kv []string
		for i := range 19 {
			kv = append(kv, fmt.Sprintf("k%02d", i), "v")
		}
		mustTag(t, s, []string{r1}, kv...)
		mustTag(t, s, []string{r1}, "aws:system", "x") // no limits: reserved nothing
		req := tagReq([]string{r1, r2}, "new1", "x", "new2", "x", "aws:other", "y")
		req.Limits = &tagwayv1.Limits{MaxTagsPerResource: 20, ReservedKeyPrefixes: []string{"aws:"}}
		req.Tags = map[string]string{"new1": "x", "new2": "x"}
		resp, err := s.TagResources(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		f := resp.GetFailedResources()[r1]
		if len(resp.GetFailedResources()) != 1 || f.GetReason() != tagwayv1.FailureReason_FAILURE_REASON_TAG_LIMIT_EXCEEDED ||
			f.GetCode() != int32(codes.InvalidArgument) || !strings.Contains(f.GetMessage(), "21") {
			t.Fatalf("failures = %v", resp.GetFailedResources())
		}
		if got := tagsOf(t, s, r1); len(got) != 20 || got["new1"] != "" {
			t.Fatalf("refused resource changed: %v", got)
		}
		if got := tagsOf(t, s, r2); len(got) != 2 {
			t.Fatalf("the other resource was not tagged: %v", got)
		}
		// A call cannot raise the server's ceiling.
		for i := range 48 {
			mustTag(t, s, []string{r2}, fmt.Sprint("x", i), "v")
		}
		req = tagReq([]string{r2}, "one-too-many", "v")
		req.Limits = &tagwayv1.Limits{MaxTagsPerResource: 1000}
		resp, _ = s.TagResources(ctx, req)
		if len(resp.GetFailedResources()) != 1 {
			t.Fatalf("51st tag accepted: %v", resp)
		}
	})
}

// seed creates resources in several namespaces; every one carries env=all
// and the even ones odd=no.
func seed(t *testing.T, s *tagging.Service) []string {
	var all []string
	for _, ns := range []string{
		"arn:aws:ec2:us-east-1:111111111111:instance/",
		"arn:aws:ec2:us-east-1:111111111111:volume/",
		"arn:aws:ec2:us-west-2:222222222222:instance/",
		"arn:aws:s3:::bucket-",
		"arn:aws-cn:ec2:cn-north-1:333333333333:instance/",
		"arn:huaweicloud:organizations:::ou/ou-",
	} {
		for i := range 5 {
			all = append(all, fmt.Sprintf("%sr%d", ns, i))
		}
	}
	for i, r := range all {
		mustTag(t, s, []string{r}, seedTags(i)...)
	}
	return listOrder(t, all)
}

// listOrder sorts names as ListResources lists them in open mode: by group
// (partition, region, account; a bucket is in the group of no owner and no
// home), then by Ident (service, region, account, type, name).
func listOrder(t *testing.T, names []string) []string {
	t.Helper()
	key := func(s string) string {
		n, err := arn.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return n.Group("", "").Key() + "\xff" + n.Ident()
	}
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(key(a), key(b)) })
	return out
}

func seedTags(i int) []string {
	kv := []string{"env", "all", fmt.Sprintf("key%02d", i%7), fmt.Sprint("v", i%3)}
	if i%2 == 0 {
		kv = append(kv, "odd", "no")
	}
	return kv
}

// pages lists every page of req and returns the resources in order.
func pages(t *testing.T, s *tagging.Service, req *tagwayv1.ListResourcesRequest) []string {
	t.Helper()
	var out []string
	prev := ""
	for range 1000 {
		resp, err := s.ListResources(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if size := req.GetPageSize(); size > 0 && len(resp.GetResources()) > int(size) {
			t.Fatalf("page of %d, page size %d", len(resp.GetResources()), size)
		}
		for _, r := range resp.GetResources() {
			out = append(out, r.GetResource())
		}
		tok := resp.GetNextPageToken()
		if tok == "" {
			return out
		}
		if tok == prev {
			t.Fatal("the same token twice in a row")
		}
		prev = tok
		req.PageToken = tok
	}
	t.Fatal("paging did not end")
	return nil
}

func TestListResourcesPages(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(*testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		all := seed(t, s)
		var even []string
		for _, r := range all {
			if tagsOf(t, s, r)["odd"] == "no" {
				even = append(even, r)
			}
		}
		for _, size := range []int32{0, 1, 2, 3, 7, 30, 1000} {
			got := pages(t, s, &tagwayv1.ListResourcesRequest{PageSize: size})
			if !slices.Equal(got, all) {
				t.Fatalf("page size %d: %v", size, got)
			}
			got = pages(t, s, &tagwayv1.ListResourcesRequest{PageSize: size, TagFilters: []*tagwayv1.TagFilter{{Key: "env"}, {Key: "odd", Values: []string{"no"}}}})
			if !slices.Equal(got, even) {
				t.Fatalf("page size %d, filtered: %v", size, got)
			}
		}
		// The page size may change between pages; the filters may not.
		resp, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{PageSize: 4})
		if err != nil || len(resp.GetResources()) != 4 {
			t.Fatal(resp, err)
		}
		next, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{PageSize: 9, PageToken: resp.GetNextPageToken()})
		if err != nil || len(next.GetResources()) != 9 || next.GetResources()[0].GetResource() != all[4] {
			t.Fatal(next, err)
		}
		_, err = s.ListResources(ctx, &tagwayv1.ListResourcesRequest{PageSize: 4, PageToken: resp.GetNextPageToken(), TagFilters: []*tagwayv1.TagFilter{{Key: "env"}}})
		wantInvalid(t, err, tagging.ReasonInvalidPageToken, "", -1)
		_, err = s.ListResources(ctx, &tagwayv1.ListResourcesRequest{PageToken: "bm90IGEgdG9rZW4"})
		wantInvalid(t, err, tagging.ReasonInvalidPageToken, "", -1)
		_, err = s.ListTagKeys(ctx, &tagwayv1.ListTagKeysRequest{PageToken: resp.GetNextPageToken()})
		wantInvalid(t, err, tagging.ReasonInvalidPageToken, "", -1)

		s.Tokens().SetClock(func() time.Time { return time.Now().Add(16 * time.Minute) })
		defer s.Tokens().SetClock(time.Now)
		_, err = s.ListResources(ctx, &tagwayv1.ListResourcesRequest{PageSize: 4, PageToken: resp.GetNextPageToken()})
		wantInvalid(t, err, tagging.ReasonPageTokenExpired, "", -1)
	})
}

// TestMaxPageTags checks that pages respect a tag budget without splitting
// a resource, and still add up to everything.
func TestMaxPageTags(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(*testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		var want []string
		for i := range 12 {
			r := fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%02d", i)
			if i == 11 {
				r = "arn:aws:ec2:us-west-2:111111111111:instance/i-zz" // another group, first to resume in
			}
			var kv []string
			for k := range i % 5 * 10 { // 0, 10, 20, 30 or 40 tags
				kv = append(kv, fmt.Sprint("k", k), "v")
			}
			if len(kv) == 0 {
				kv = []string{"gone", "x"}
			}
			mustTag(t, s, []string{r}, kv...)
			if i%5 == 0 {
				if _, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{r}, TagKeys: []string{"gone"}}); err != nil {
					t.Fatal(err)
				}
			}
			want = append(want, r)
		}
		req := &tagwayv1.ListResourcesRequest{PageSize: 100, MaxPageTags: 45}
		var got []string
		for {
			resp, err := s.ListResources(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			count := 0
			for _, r := range resp.GetResources() {
				count += max(1, len(r.GetTags()))
				got = append(got, r.GetResource())
			}
			if count > 45 && len(resp.GetResources()) > 1 {
				t.Fatalf("page of %d tags over a budget of 45: %v", count, resp.GetResources())
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got %v\nwant %v", got, want)
		}
	})
}

// TestReservedPrefixesCannotLiftTheCeiling checks that a caller naming new
// reserved prefixes, whose keys the per-resource cap does not count, still
// cannot pass the server's total.
func TestReservedPrefixesCannotLiftTheCeiling(t *testing.T) {
	s := newService(t, memstore.New())
	total := 0
	for round := range 5 {
		req := &tagwayv1.TagResourcesRequest{Resources: []string{r1}, Tags: map[string]string{}, Limits: &tagwayv1.Limits{}}
		for p := range round {
			req.Limits.ReservedKeyPrefixes = append(req.Limits.ReservedKeyPrefixes, fmt.Sprintf("p%d:", p))
		}
		for i := range 50 {
			req.Tags[fmt.Sprintf("p%d:%02d", round, i)] = "v"
		}
		resp, err := s.TagResources(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetFailedResources()) == 0 {
			total += 50
		}
	}
	if got := len(tagsOf(t, s, r1)); got != total || got > tagging.MaxTotalTagsPerResource {
		t.Fatalf("%d tags (%d applied), ceiling %d", got, total, tagging.MaxTotalTagsPerResource)
	}
	_, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{Scopes: []*tagwayv1.ResourceScope{{ResourceTypes: []string{strings.Repeat("t", 129)}}}})
	wantInvalid(t, err, tagging.ReasonInvalidParameter, "scopes", 0)
	r := tagReq([]string{r2}, "k", "v")
	r.Limits = &tagwayv1.Limits{ReservedKeyPrefixes: strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")}
	_, err = s.TagResources(ctx, r)
	wantInvalid(t, err, tagging.ReasonInvalidParameter, "limits.reserved_key_prefixes", -1)
}

func TestListResourcesUntagged(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(*testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		mustTag(t, s, []string{r1, r2, r3}, "a", "1")
		if _, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: []string{r1, r3}, TagKeys: []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		if got := pages(t, s, &tagwayv1.ListResourcesRequest{UntaggedOnly: true, PageSize: 1}); !slices.Equal(got, listOrder(t, []string{r1, r3})) {
			t.Fatalf("untagged = %v", got)
		}
		resp, _ := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{})
		if len(resp.GetResources()) != 3 || len(resp.GetResources()[0].GetTags()) != 0 {
			t.Fatalf("all = %v", resp)
		}
	})
}

func TestScopes(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(*testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		all := seed(t, s)
		pick := func(prefixes ...string) []string {
			var out []string
			for _, r := range all {
				for _, p := range prefixes {
					if strings.HasPrefix(r, p) {
						out = append(out, r)
						break
					}
				}
			}
			return out
		}
		cases := []struct {
			name   string
			scopes []*tagwayv1.ResourceScope
			want   []string
		}{
			{"partition", []*tagwayv1.ResourceScope{{Partitions: []string{"aws"}}}, pick("arn:aws:")},
			{"region or global", []*tagwayv1.ResourceScope{{Partitions: []string{"aws"}, Regions: []string{"us-east-1", ""}}}, pick("arn:aws:ec2:us-east-1:", "arn:aws:s3:")},
			{"account", []*tagwayv1.ResourceScope{{Accounts: []string{"222222222222", "333333333333"}}}, pick("arn:aws:ec2:us-west-2", "arn:aws-cn:")},
			{"service and type", []*tagwayv1.ResourceScope{{Services: []string{"ec2"}, ResourceTypes: []string{"instance"}}}, pick("arn:aws:ec2:us-east-1:111111111111:instance", "arn:aws:ec2:us-west-2", "arn:aws-cn:")},
			{"two scopes", []*tagwayv1.ResourceScope{{Services: []string{"s3"}}, {Partitions: []string{"huaweicloud"}, Services: []string{"organizations"}, ResourceTypes: []string{"ou"}}}, pick("arn:aws:s3:", "arn:huaweicloud:")},
			{"nothing", []*tagwayv1.ResourceScope{{Partitions: []string{"gcp"}}}, nil},
			{"untyped only", []*tagwayv1.ResourceScope{{Services: []string{"s3", "ec2"}, ResourceTypes: []string{""}}}, pick("arn:aws:s3:")},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got := pages(t, s, &tagwayv1.ListResourcesRequest{Scopes: tc.scopes, PageSize: 3})
				if !slices.Equal(got, tc.want) {
					t.Fatalf("got %v\nwant %v", got, tc.want)
				}
			})
		}
	})
}

func listKeys(t *testing.T, s *tagging.Service, req *tagwayv1.ListTagKeysRequest) []string {
	t.Helper()
	var out []string
	for range 100 {
		resp, err := s.ListTagKeys(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, resp.GetTagKeys()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
	t.Fatal("paging did not end")
	return nil
}

func TestListKeysAndValues(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(*testing.T) tagstore.Store) {
		s := newService(t, newStore(t))
		all := seed(t, s)
		want := []string{"env", "key00", "key01", "key02", "key03", "key04", "key05", "key06", "odd"}
		for _, size := range []int32{1, 2, 4, 9, 10} {
			if got := listKeys(t, s, &tagwayv1.ListTagKeysRequest{PageSize: size}); !slices.Equal(got, want) {
				t.Fatalf("page size %d: %v", size, got)
			}
		}
		huawei := map[string]bool{}
		for _, r := range all {
			if strings.HasPrefix(r, "arn:huaweicloud:") {
				for k := range tagsOf(t, s, r) {
					huawei[k] = true
				}
			}
		}
		got := listKeys(t, s, &tagwayv1.ListTagKeysRequest{Scopes: []*tagwayv1.ResourceScope{{Partitions: []string{"huaweicloud"}}}})
		if !slices.Equal(got, slices.Sorted(maps.Keys(huawei))) || len(got) < 3 {
			t.Fatalf("huaweicloud keys: %v, want %v", got, huawei)
		}
		var values []string
		req := &tagwayv1.ListTagValuesRequest{TagKey: "key00", PageSize: 1}
		for {
			resp, err := s.ListTagValues(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, resp.GetTagValues()...)
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		if !slices.Equal(values, []string{"v0", "v1", "v2"}) {
			t.Fatalf("values of key00: %v", values)
		}
		// Keys follow untagging: remove odd everywhere, it is gone.
		var evens []string
		resp, _ := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{TagFilters: []*tagwayv1.TagFilter{{Key: "odd"}}})
		for _, r := range resp.GetResources() {
			evens = append(evens, r.GetResource())
		}
		for i := 0; i < len(evens); i += 20 {
			if _, err := s.UntagResources(ctx, &tagwayv1.UntagResourcesRequest{Resources: evens[i:min(i+20, len(evens))], TagKeys: []string{"odd"}}); err != nil {
				t.Fatal(err)
			}
		}
		if got := listKeys(t, s, &tagwayv1.ListTagKeysRequest{}); slices.Contains(got, "odd") {
			t.Fatalf("keys after untagging odd everywhere: %v", got)
		}
	})
}

// TestSparseListEndsEarly checks that a page stops after its namespace
// budget with a token instead of walking every namespace, and that the
// pages still add up to every match.
func TestSparseListEndsEarly(t *testing.T) {
	s := newService(t, memstore.New())
	for i := range 300 {
		mustTag(t, s, []string{fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:instance/i-1", i)}, "common", "x")
	}
	last := fmt.Sprintf("arn:aws:ec2:us-east-1:%012d:instance/i-1", 299)
	mustTag(t, s, []string{last}, "rare", "y", "common", "y")
	// A rare key: only the group holding it is read, at once.
	resp, err := s.ListResources(ctx, &tagwayv1.ListResourcesRequest{TagFilters: []*tagwayv1.TagFilter{{Key: "rare"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResources()) != 1 || resp.GetNextPageToken() != "" {
		t.Fatalf("by a rare key: %d resources, token %q", len(resp.GetResources()), resp.GetNextPageToken())
	}
	// A rare value of a key every group holds: the first page stops at
	// its budget of groups, empty, with a token.
	sparse := &tagwayv1.ListResourcesRequest{TagFilters: []*tagwayv1.TagFilter{{Key: "common", Values: []string{"y"}}}}
	resp, err = s.ListResources(ctx, sparse)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResources()) != 0 || resp.GetNextPageToken() == "" {
		t.Fatalf("first page: %d resources, token %q", len(resp.GetResources()), resp.GetNextPageToken())
	}
	if got := pages(t, s, sparse); !slices.Equal(got, []string{last}) {
		t.Fatalf("all pages: %v", got)
	}
}

// TestTokensAcrossReplicas checks that a token issued by one service is
// accepted by another on the same Redis.
func TestTokensAcrossReplicas(t *testing.T) {
	srv := redistest.Run(t)
	open := func() *tagging.Service {
		st, err := redisstore.Open(ctx, srv.URL(), redisstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return newService(t, st)
	}
	a, b := open(), open()
	seed(t, a)
	resp, err := a.ListResources(ctx, &tagwayv1.ListResourcesRequest{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ListResources(ctx, &tagwayv1.ListResourcesRequest{PageSize: 2, PageToken: resp.GetNextPageToken()}); err != nil {
		t.Fatalf("replica refused the token: %v", err)
	}
}

// failing wraps a store and fails every call for the resources it names.
type failing struct {
	tagstore.Store
	bad map[string]bool
}

var errDown = errors.New("connection refused")

func (f failing) Apply(ctx context.Context, changes []tagstore.Change) []error {
	var ok []tagstore.Change
	for _, c := range changes {
		if !f.bad[c.Resource.String()] {
			ok = append(ok, c)
		}
	}
	errs := f.Store.Apply(ctx, ok)
	out := make([]error, len(changes))
	j := 0
	for i, c := range changes {
		if f.bad[c.Resource.String()] {
			out[i] = errDown
		} else {
			out[i] = errs[j]
			j++
		}
	}
	return out
}

func (f failing) Get(context.Context, []arn.Name) ([]tagstore.Resource, error) { return nil, errDown }

func TestStoreFailures(t *testing.T) {
	s := newService(t, failing{Store: memstore.New(), bad: map[string]bool{r2: true}})
	resp, err := s.TagResources(ctx, tagReq([]string{r1, r2}, "k", "v"))
	if err != nil {
		t.Fatal(err)
	}
	f := resp.GetFailedResources()
	if len(f) != 1 || f[r2].GetReason() != tagwayv1.FailureReason_FAILURE_REASON_STORE_UNAVAILABLE || f[r2].GetCode() != int32(codes.Unavailable) {
		t.Fatalf("failures = %v", f)
	}
	if strings.Contains(f[r2].GetMessage(), "refused") {
		t.Fatalf("failure leaks the store's error: %q", f[r2].GetMessage())
	}
	_, err = s.GetResourceTags(ctx, &tagwayv1.GetResourceTagsRequest{Resources: []string{r1}})
	if status.Code(err) != codes.Unavailable || tagging.Info(err).GetReason() != tagging.ReasonStoreUnavailable {
		t.Fatalf("get with the store down: %v", err)
	}
}

// TestPagesFitAClient fills resources with the largest tags allowed: a page
// of them must stay well under a gRPC client's default 4 MiB receive limit,
// and paging must still visit every resource whole.
func TestPagesFitAClient(t *testing.T) {
	s := newService(t, memstore.New())
	var all []string
	for i := range 300 {
		name := fmt.Sprintf("arn:aws:ec2:us-east-1:111111111111:instance/i-%04d", i)
		all = append(all, name)
		var kv []string
		for j := range 50 {
			kv = append(kv, fmt.Sprintf("%03d", j)+strings.Repeat("k", 125), strings.Repeat("v", 256))
		}
		mustTag(t, s, []string{name}, kv...)
	}
	var seen []string
	req := &tagwayv1.ListResourcesRequest{PageSize: 5000}
	for pages := 0; ; pages++ {
		resp, err := s.ListResources(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if n := proto.Size(resp); n > 3<<20 {
			t.Fatalf("page %d is %d bytes", pages, n)
		}
		for _, r := range resp.GetResources() {
			if len(r.GetTags()) != 50 {
				t.Fatalf("%s split: %d tags", r.GetResource(), len(r.GetTags()))
			}
			seen = append(seen, r.GetResource())
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			if pages < 2 {
				t.Fatalf("%d pages for 5.9 MB of resources", pages+1)
			}
			break
		}
	}
	if !slices.Equal(seen, all) {
		t.Fatalf("paging saw %d resources, want %d", len(seen), len(all))
	}
}
