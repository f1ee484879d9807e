package huawei

import (
	"net/http"
	"testing"
)

func TestResolve(t *testing.T) {
	good := []struct{ typ, id, name string }{
		{"", "r-abc1", "arn:huaweicloud:organizations:::root/r-abc1"},
		{"", "ou-taowxgy4xbme6m4x3c2iijbxw7yj8fcw", "arn:huaweicloud:organizations:::ou/ou-taowxgy4xbme6m4x3c2iijbxw7yj8fcw"},
		{"", "05261f923e80d3890f33c0056e9b3f80", "arn:huaweicloud:organizations:::account/05261f923e80d3890f33c0056e9b3f80"},
		{"", "p-Tag_Policy1", "arn:huaweicloud:organizations:::policy/p-Tag_Policy1"},
		{"organizations:ous", "ou-1", "arn:huaweicloud:organizations:::ou/ou-1"},
		{"organizations:policies", "p-1", "arn:huaweicloud:organizations:::policy/p-1"},
	}
	resolve := func(typ, id string) (string, *apiError) {
		if typ == "" {
			return resolveID("", id)
		}
		return resolveTyped("", typ, id)
	}
	for _, tc := range good {
		name, err := resolve(tc.typ, tc.id)
		if err != nil || name != tc.name {
			t.Errorf("resolve(%q, %q) = %q, %v", tc.typ, tc.id, name, err)
		}
		if idOf(name) != tc.id {
			t.Errorf("idOf(%q) = %q", name, idOf(name))
		}
	}
	for _, tc := range []struct{ typ, id string }{
		{"", ""}, {"", "ou-"}, {"", "OU-1"}, {"", "ou-a_b"}, {"", "r-" + string(make([]byte, 33))},
		{"", "05261F923E80D3890F33C0056E9B3F80"}, {"", "0526"}, {"", "p-a/b"}, {"", "i-123"},
		{"organizations:ous", "r-1"}, {"organizations:users", "ou-1"}, {"ous", "ou-1"},
	} {
		if name, err := resolve(tc.typ, tc.id); err == nil || err.Status != 400 || err.Code != CodeInvalidParameter {
			t.Errorf("resolve(%q, %q) = %q, %v; want a 400", tc.typ, tc.id, name, err)
		}
	}
	const domain = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	if name, err := resolveID(domain, "ou-1"); err != nil || name != "arn:huaweicloud:organizations::"+domain+":ou/ou-1" || idOf(name) != "ou-1" {
		t.Errorf("resolveID in an organization = %q, %v", name, err)
	}
	if _, err := resolveTyped("", "", "ou-1"); err == nil || err.Status != 400 {
		t.Errorf("an empty resource_type was accepted: %v", err)
	}
	if _, err := resolveTyped("", "resources", "ou-1"); err == nil || err.Status != 404 {
		t.Errorf("resources as a type: %v", err)
	}
}

func TestOperation(t *testing.T) {
	h := &Handler{}
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "resources/ou-1/tag", "TagResource"},
		{"POST", "resources/ou-1/untag", "UntagResource"},
		{"GET", "resources/ou-1/tags", "ListTagsForResource"},
		{"POST", "organizations:ous/ou-1/tags/create", "CreateTagResource"},
		{"POST", "organizations:ous/ou-1/tags/delete", "DeleteTagResource"},
		{"GET", "organizations:ous/ou-1/tags", "ListTagResources"},
		{"GET", "organizations:ous/tags", "ListResourceTags"},
		{"POST", "organizations:ous/resource-instances/filter", "ListResourceInstances"},
		{"POST", "organizations:ous/resource-instances/count", "ShowResourceInstancesCount"},
		{"GET", "resources/ou-1/tag", "unknown"},
		{"POST", "a/b/c/d/e", "unknown"},
		{"POST", "organizations:ous/ou-1/tags/create/more/still-more", "unknown"},
		{"GET", "resources/ou-1/tags/", "unknown"},
		{"GET", "", "unknown"},
	} {
		r, _ := http.NewRequest(tc.method, "http://h"+PathPrefix+tc.path, nil)
		if got := h.Operation(r); got != tc.want {
			t.Errorf("%s %s = %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}
