package huawei

import (
	"net/http"
	"regexp"
	"strings"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/access"
)

// canonicalPrefix starts the canonical name of every Organizations resource
// of the organization of the account domain:
// arn:huaweicloud:organizations::<domain>:<type>/<id>. The domain is that
// of the caller's principal, so organizations stay apart; without an auth
// file it is empty.
func canonicalPrefix(domain string) string {
	return "arn:" + access.HuaweiPartition + ":" + access.HuaweiService + "::" + domain + ":"
}

// kind is one of the four taggable Organizations entities.
type kind struct {
	name string         // the type in canonical names: root, ou, account, policy
	path string         // the {resource_type} of the API: organizations:roots, ...
	id   *regexp.Regexp // what its ids look like
}

var kinds = []kind{
	{"root", "organizations:roots", regexp.MustCompile(`^r-[0-9a-z]{1,32}$`)},
	{"ou", "organizations:ous", regexp.MustCompile(`^ou-[0-9a-z]{1,32}$`)},
	{"account", "organizations:accounts", regexp.MustCompile(`^[0-9a-f]{32}$`)},
	{"policy", "organizations:policies", regexp.MustCompile(`^p-[0-9A-Za-z_]{1,127}$`)},
}

// kindOfID derives the kind of a resource from its id.
func kindOfID(id string) (kind, *apiError) {
	for _, k := range kinds {
		if k.id.MatchString(id) {
			return k, nil
		}
	}
	return kind{}, invalid("resource_id: %q is not the id of a root (r-...), an organizational unit (ou-...), an account (32 hexadecimal digits) or a policy (p-...)", id)
}

// kindOfPath resolves a {resource_type} path parameter. "resources" is the
// literal segment of the untyped operations: as a type it names no API.
func kindOfPath(resourceType string) (kind, *apiError) {
	if resourceType == "resources" {
		return kind{}, &apiError{Status: http.StatusNotFound, Code: CodeNoSuchAPI, Message: "The API does not exist or has not been published in the environment"}
	}
	for _, k := range kinds {
		if k.path == resourceType {
			return k, nil
		}
	}
	return kind{}, invalid("resource_type: %q is not one of organizations:roots, organizations:ous, organizations:accounts, organizations:policies", resourceType)
}

// resolveID checks an id of the untyped operations and returns its
// canonical name in the organization of domain.
func resolveID(domain, id string) (string, *apiError) {
	k, err := kindOfID(id)
	if err != nil {
		return "", err
	}
	return canonicalPrefix(domain) + k.name + "/" + id, nil
}

// resolveTyped checks the {resource_type} and id of the typed operations:
// the id must be of that type.
func resolveTyped(domain, resourceType, id string) (string, *apiError) {
	want, err := kindOfPath(resourceType)
	if err != nil {
		return "", err
	}
	k, err := kindOfID(id)
	if err != nil {
		return "", err
	}
	if want.name != k.name {
		return "", invalid("resource_id: %q is not of resource_type %s", id, resourceType)
	}
	return canonicalPrefix(domain) + k.name + "/" + id, nil
}

// idOf returns the Organizations id of a canonical name: what follows its
// first "/", which ends the type.
func idOf(name string) string {
	_, id, _ := strings.Cut(name, "/")
	return id
}

// scope selects every resource of one kind in the organization of domain.
func scope(domain string, k kind) []*tagwayv1.ResourceScope {
	return []*tagwayv1.ResourceScope{{
		Partitions: []string{access.HuaweiPartition}, Services: []string{access.HuaweiService},
		Regions: []string{""}, Accounts: []string{domain}, ResourceTypes: []string{k.name},
	}}
}
