// Package operation names the core's operations, as policies, rate limits
// and the auth file refer to them.
package operation

import "slices"

// The core's operations.
const (
	TagResources    = "TagResources"
	UntagResources  = "UntagResources"
	GetResourceTags = "GetResourceTags"
	ListResources   = "ListResources"
	CountResources  = "CountResources"
	ListTagKeys     = "ListTagKeys"
	ListTagValues   = "ListTagValues"
	WatchTagChanges = "WatchTagChanges"
	ListAuditEvents = "ListAuditEvents"
)

// All lists the operations; the first two change tags, the others read.
var All = []string{TagResources, UntagResources, GetResourceTags, ListResources, CountResources, ListTagKeys, ListTagValues, WatchTagChanges, ListAuditEvents}

// Known reports whether name is an operation.
func Known(name string) bool { return slices.Contains(All, name) }

// Writes reports whether the operation changes tags.
func Writes(name string) bool { return name == TagResources || name == UntagResources }
