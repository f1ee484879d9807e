-- claim.lua records and reports where a resource lives whose group its name
-- alone does not fix (arn.Name.Placed): its owner, for a name without an
-- account, and its home region, for one without a region that lives in one
-- (an S3 bucket). Its tags live in the group of that placement, so before
-- any change the placement must be known; the first change that would
-- create the resource records it. The key has the hash tag of the name's
-- group without a placement.
--
-- KEYS[1]: that group's place hash: Ident -> "<owner>:<home>".
-- ARGV: Ident; the owner and home a creating change records; "1" when the
-- change may create the resource; "1" when it checks the owner (its name has
-- no account) and "1" when it applies whoever owns the resource; the home it
-- requires ("" for any); the deadline (see late).
-- Returns {status, owner, home}: status 1 means apply in that placement, 0
-- that another owner has the resource, 3 that it lives in another region, 2
-- that it is unknown and the change has nothing to do, 4 that the deadline
-- had passed.
local ident, owner, home = ARGV[1], ARGV[2], ARGV[3]
local create, checkOwner, anyOwner, wantHome = ARGV[4] == '1', ARGV[5] == '1', ARGV[6] == '1', ARGV[7]
if late(tonumber(ARGV[8])) then return {4, '', ''} end
local cur = redis.call('HGET', KEYS[1], ident)
if cur then
  local sep = string.find(cur, ':', 1, true)
  local o, h = string.sub(cur, 1, sep - 1), string.sub(cur, sep + 1)
  if checkOwner and o ~= owner and not anyOwner then return {0, o, h} end
  if wantHome ~= '' and h ~= '' and h ~= wantHome then return {3, o, h} end
  return {1, o, h}
end
if not create then return {2, '', ''} end
redis.call('HSET', KEYS[1], ident, owner .. ':' .. home)
return {1, owner, home}
