package huawei

import (
	"net/http"
	"strings"

	tagwayv1 "github.com/tagway/tagway/gen/go/tagway/v1"
	"github.com/tagway/tagway/internal/rules"
)

// canonicalPrefix starts the canonical name of every Organizations resource
// of the organization of the account domain:
// arn:huaweicloud:organizations::<domain>:<type>/<id>. The domain is that
// of the caller's principal, so organizations stay apart; without an auth
// file it is empty.
func canonicalPrefix(domain string) string {
	return "arn:" + rules.HuaweiPartition + ":" + rules.HuaweiService + "::" + domain + ":"
}

// kind is one of the four taggable Organizations entities.
type kind = rules.HuaweiType

// kindOfID derives the kind of a resource from its id.
func kindOfID(id string) (kind, *apiError) {
	if k, ok := rules.HuaweiTypeOfID(id); ok {
		return k, nil
	}
	return kind{}, invalid("resource_id: %q is not the id of a root (r-...), an organizational unit (ou-...), an account (32 hexadecimal digits) or a policy (p-...)", id)
}

// kindOfPath resolves a {resource_type} path parameter. "resources" is the
// literal segment of the untyped operations: as a type it names no API.
func kindOfPath(resourceType string) (kind, *apiError) {
	if resourceType == "resources" {
		return kind{}, &apiError{Status: http.StatusNotFound, Code: CodeNoSuchAPI, Message: "The API does not exist or has not been published in the environment"}
	}
	for _, k := range rules.HuaweiTypes {
		if k.Path == resourceType {
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
	return canonicalName(domain, k, id), nil
}

// canonicalName returns the canonical name of the resource id of kind k in
// the organization of domain, in one allocation.
func canonicalName(domain string, k kind, id string) string {
	return "arn:" + rules.HuaweiPartition + ":" + rules.HuaweiService + "::" + domain + ":" + k.Name + "/" + id
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
	if want.Name != k.Name {
		return "", invalid("resource_id: %q is not of resource_type %s", id, resourceType)
	}
	return canonicalName(domain, k, id), nil
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
		Partitions: []string{rules.HuaweiPartition}, Services: []string{rules.HuaweiService},
		Regions: []string{""}, Accounts: []string{domain}, ResourceTypes: []string{k.Name},
	}}
}
