package redisstore

import "context"

// CheckVersion exposes checkVersion to the external tests.
var CheckVersion = checkVersion

// Forget exposes the second step of ForgetEmpty, so that a test can hand
// it a group it claims to have just seen empty.
func (s *Store) Forget(ctx context.Context, groups []string, empty []bool) (int, error) {
	return s.forget(ctx, groups, empty)
}
