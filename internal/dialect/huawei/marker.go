package huawei

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"sort"
	"strings"
)

// A marker resumes a resource's tag list after the last key of the previous
// page. Huawei documents markers as 4 to 400 characters of
// [A-Za-z0-9+/=_.-]. A marker is base64url of "t1" and the key; a key too
// long for that (over 298 bytes: long keys of 3- or 4-byte characters) is
// written as "t2", its first 256 bytes and a SHA-256 prefix of the whole.
const (
	minMarker      = 4
	maxMarker      = 400
	markerPrefixed = 256 // bytes of a long key kept in its marker
	markerHash     = 16
)

// markerAfter returns the marker that resumes after key.
func markerAfter(key string) string {
	b := append([]byte("t1"), key...)
	if base64.RawURLEncoding.EncodedLen(len(b)) > maxMarker {
		sum := sha256.Sum256([]byte(key))
		b = append(append([]byte("t2"), key[:markerPrefixed]...), sum[:markerHash]...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// resume returns the index in sorted keys where the page after marker
// starts.
func resume(keys []string, marker string) (int, *apiError) {
	bad := invalid("marker: %q is not a next_marker this service issued", marker)
	if len(marker) < minMarker || len(marker) > maxMarker {
		return 0, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(marker)
	if err != nil || len(b) < 3 {
		return 0, bad
	}
	switch string(b[:2]) {
	case "t1":
		after := string(b[2:])
		return sort.SearchStrings(keys, after+"\x00"), nil
	case "t2":
		if len(b) != 2+markerPrefixed+markerHash {
			return 0, bad
		}
		prefix, sum := string(b[2:2+markerPrefixed]), b[2+markerPrefixed:]
		i := sort.SearchStrings(keys, prefix)
		for j := i; j < len(keys) && strings.HasPrefix(keys[j], prefix); j++ {
			if h := sha256.Sum256([]byte(keys[j])); bytes.Equal(h[:markerHash], sum) {
				return j + 1, nil
			}
		}
		// The key is gone: resume after every key sharing its prefix.
		for i < len(keys) && strings.HasPrefix(keys[i], prefix) {
			i++
		}
		return i, nil
	}
	return 0, bad
}
