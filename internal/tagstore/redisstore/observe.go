package redisstore

import "github.com/redis/go-redis/v9"

// Client returns the store's Redis client, for instrumentation: its pool
// statistics and hooks (such as tracing). Callers must not close it or
// send it commands of their own.
func (s *Store) Client() redis.UniversalClient { return s.client }
