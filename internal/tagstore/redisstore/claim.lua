#!lua
-- claim.lua records and reports who owns a resource whose name has no
-- account (an S3 bucket, say). Its tags live in the namespace of its owner,
-- so before any change the owner must be known; the first change that would
-- create the resource records it. Both keys share the hash tag of the name's
-- namespace without an owner.
--
-- KEYS[1]: the owners hash of that namespace; KEYS[2]: its known set, which
-- holds resources tagged before owners were recorded (they have none).
-- ARGV: local part, the change's owner, "1" when the change may create the
-- resource, "1" when it applies whoever owns the resource.
-- Returns {status, owner}: status 1 means apply in owner's namespace, 0 that
-- another owner has it, 2 that the resource is unknown and the change has
-- nothing to do.
local loc, owner = ARGV[1], ARGV[2]
local create, any = ARGV[3] == '1', ARGV[4] == '1'
local cur = redis.call('HGET', KEYS[1], loc)
if not cur and redis.call('ZSCORE', KEYS[2], loc) then cur = '' end
if cur then
  if cur == owner or any then return {1, cur} end
  return {0, cur}
end
if not create then return {2, ''} end
redis.call('HSET', KEYS[1], loc, owner)
return {1, owner}
