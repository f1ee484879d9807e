package redisstore

import "github.com/redis/go-redis/v9"

// Client returns the store's Redis client, for instrumentation (its pool
// statistics and hooks, such as tracing) and for other state that belongs
// with the tags under KeyPrefix (rate limits shared by the replicas of
// tagway). Callers must not close it.
func (s *Store) Client() redis.UniversalClient { return s.client }
