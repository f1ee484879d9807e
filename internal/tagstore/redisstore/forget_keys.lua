-- forget_keys.lua removes (group, key) pairs from the key index when the
-- group was just seen not to hold the key and the pair's registration is
-- older than the lease plus thrice MaxChangeAge: every change sent on the
-- strength of it has landed (and the look saw it) or never will. A key no
-- group is registered for leaves the list of keys. All its keys are the
-- registry's: KEYS[1] is the list of keys, KEYS[2] their registration
-- times; gk:<key> and gkt:<key> are each key's groups and their times.
--
-- ARGV: the registry prefix ("<prefix>{registry}:"), when the groups were
-- looked at (ms, by the server's clock as the caller estimates it),
-- MaxChangeAge (ms), the lease (ms), K then K keys looked at, then (key,
-- group) pairs seen not held.
-- Returns how many pairs it removed.
local prefix, looked, age, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- A look older than half MaxChangeAge proves nothing any more.
if now - looked > age / 2 then return 0 end
local cutoff = now - lease - 3 * age
local nk = tonumber(ARGV[5])
local i = 6 + nk
local removed = 0
while i < #ARGV do
  local key, group = ARGV[i], ARGV[i + 1]
  local at = redis.call('HGET', prefix .. 'gkt:' .. key, group)
  if not at or tonumber(at) < cutoff then
    redis.call('ZREM', prefix .. 'gk:' .. key, group)
    redis.call('HDEL', prefix .. 'gkt:' .. key, group)
    removed = removed + 1
  end
  i = i + 2
end
for j = 6, 5 + nk do
  local key = ARGV[j]
  if redis.call('ZCARD', prefix .. 'gk:' .. key) == 0 then
    local at = redis.call('HGET', KEYS[2], key)
    if not at or tonumber(at) < cutoff then
      redis.call('ZREM', KEYS[1], key)
      redis.call('HDEL', KEYS[2], key)
    end
  end
end
return removed
