#!lua
-- apply.lua changes the tags of one resource and every index that mentions
-- it, atomically. All keys share the namespace's hash tag, so the script
-- touches one Cluster slot; KEYS[1] (the resource hash) routes it, and the
-- shebang makes Redis refuse any key of another slot.
--
-- Redis does not undo a script's writes when a later command fails, and
-- while a Cluster slot migrates, any access to a key that is not (or no
-- longer) on this node fails. So the script reads and touches every key it
-- will write before its first write, decides everything then, and writes
-- without reading again: adds before removes, so that no write lands on a
-- key an earlier write emptied.
--
-- ARGV: key prefix of the namespace ("tagway:{<namespace>}:"), local part,
-- max counted tags (0: none), max tags in all (0: none), E then E exempt
-- prefixes (lower case), S then S key/value pairs to set, R then R triples
-- (key, "1" if the removal expects a value else "0", expected value) to
-- remove.
-- Returns 0 when applied, or {count, 0} ({count, 1} for the total) when a
-- limit refused the change.
local p, loc, max, maxTotal = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local i = 5
local exempt = {}
for j = 1, tonumber(ARGV[i]) do exempt[j] = ARGV[i + j] end
i = i + #exempt + 1
local sets = {}
for j = 1, tonumber(ARGV[i]) do sets[j] = {ARGV[i + 2 * j - 1], ARGV[i + 2 * j]} end
i = i + 2 * #sets + 1
local removes = {}
for j = 1, tonumber(ARGV[i]) do
  removes[j] = {ARGV[i + 3 * j - 2], ARGV[i + 3 * j - 1] == '1', ARGV[i + 3 * j]}
end

-- Read phase.
local known = redis.call('ZSCORE', p .. 'known', loc)
if not known and #sets == 0 then return 0 end

local cur = {}
local flat = redis.call('HGETALL', KEYS[1])
for j = 1, #flat, 2 do cur[flat[j]] = flat[j + 1] end

-- removing[k]: the change removes k, which is present with the expected
-- value, if any.
local removing = {}
for _, r in ipairs(removes) do
  local old = cur[r[1]]
  if old ~= nil and (not r[2] or old == r[3]) then removing[r[1]] = true end
end

local function counted(k)
  for _, e in ipairs(exempt) do
    if string.lower(string.sub(k, 1, #e)) == e then return false end
  end
  return true
end

-- A limit refuses a change that leaves more keys than it allows and more
-- than the resource had.
local function over(limit, counts)
  if limit <= 0 then return nil end
  local before, after = 0, 0
  for k in pairs(cur) do
    if counts(k) then
      before = before + 1
      if not removing[k] then after = after + 1 end
    end
  end
  for _, kv in ipairs(sets) do
    if (cur[kv[1]] == nil or removing[kv[1]]) and counts(kv[1]) then after = after + 1 end
  end
  if after > limit and after > before then return after end
  return nil
end
local n = over(maxTotal, function() return true end)
if n then return {n, 1} end
n = over(max, counted)
if n then return {n, 0} end

-- The new tags, and what changes: {key, old value or nil, new or nil}.
local new = {}
for k, v in pairs(cur) do
  if not removing[k] then new[k] = v end
end
for _, kv in ipairs(sets) do new[kv[1]] = kv[2] end
local changes = {}
for k, old in pairs(cur) do
  if new[k] ~= old then changes[#changes + 1] = {k, old, new[k]} end
end
for k, v in pairs(new) do
  if cur[k] == nil then changes[#changes + 1] = {k, nil, v} end
end

local function valueKey(k, v) return p .. 'v:' .. #k .. ':' .. k .. v end
-- Will an index lose its last member? The resource is in k:<key> and in
-- the v: index of its old value, so one member left means it empties.
local lastOfKey, lastOfValue = {}, {}
local touch = {p .. 'known', p .. 'untagged', p .. 'keys'}
for _, c in ipairs(changes) do
  local k, old, v = c[1], c[2], c[3]
  touch[#touch + 1] = p .. 'k:' .. k
  touch[#touch + 1] = p .. 'vals:' .. k
  if old ~= nil then lastOfValue[k] = redis.call('ZCARD', valueKey(k, old)) == 1 end
  if v == nil then lastOfKey[k] = redis.call('ZCARD', p .. 'k:' .. k) == 1 end
  if v ~= nil then touch[#touch + 1] = valueKey(k, v) end
end
for _, key in ipairs(touch) do redis.call('EXISTS', key) end

-- Write phase: first every addition.
local hset = {}
for _, c in ipairs(changes) do
  local k, old, v = c[1], c[2], c[3]
  if v ~= nil then
    hset[#hset + 1], hset[#hset + 2] = k, v
    if old == nil then
      redis.call('ZADD', p .. 'k:' .. k, 0, loc)
      redis.call('ZADD', p .. 'keys', 0, k)
    end
    redis.call('ZADD', valueKey(k, v), 0, loc)
    redis.call('ZADD', p .. 'vals:' .. k, 0, v)
  end
end
if #hset > 0 then redis.call('HSET', KEYS[1], unpack(hset)) end
if not known then redis.call('ZADD', p .. 'known', 0, loc) end
if next(new) == nil then redis.call('ZADD', p .. 'untagged', 0, loc) end

-- Then every removal; each takes away a member that is there, so a set
-- empties only at its last removal.
local hdel = {}
for _, c in ipairs(changes) do
  local k, old, v = c[1], c[2], c[3]
  if old ~= nil then
    redis.call('ZREM', valueKey(k, old), loc)
    if lastOfValue[k] then redis.call('ZREM', p .. 'vals:' .. k, old) end
  end
  if v == nil then
    hdel[#hdel + 1] = k
    redis.call('ZREM', p .. 'k:' .. k, loc)
    if lastOfKey[k] then redis.call('ZREM', p .. 'keys', k) end
  end
end
if #hdel > 0 then redis.call('HDEL', KEYS[1], unpack(hdel)) end
if next(new) ~= nil and known then redis.call('ZREM', p .. 'untagged', loc) end
return 0
