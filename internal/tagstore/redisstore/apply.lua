#!lua
-- apply.lua changes the tags of one resource and every index that mentions
-- it, atomically. All keys share the namespace's hash tag, so the script
-- touches one Cluster slot; KEYS[1] (the resource hash) routes it, and the
-- shebang makes Redis refuse any key of another slot.
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

if maxTotal > 0 then
  local before, after = 0, 0
  for k in pairs(cur) do
    before = before + 1
    if not removing[k] then after = after + 1 end
  end
  for _, kv in ipairs(sets) do
    if cur[kv[1]] == nil or removing[kv[1]] then after = after + 1 end
  end
  if after > maxTotal and after > before then return {after, 1} end
end

if max > 0 then
  local before, after = 0, 0
  for k in pairs(cur) do
    if counted(k) then
      before = before + 1
      if not removing[k] then after = after + 1 end
    end
  end
  for _, kv in ipairs(sets) do
    if (cur[kv[1]] == nil or removing[kv[1]]) and counted(kv[1]) then after = after + 1 end
  end
  if after > max and after > before then return {after, 0} end
end

local function valueKey(k, v) return p .. 'v:' .. #k .. ':' .. k .. v end
local function addValue(k, v)
  redis.call('ZADD', valueKey(k, v), 0, loc)
  redis.call('ZADD', p .. 'vals:' .. k, 0, v)
end
local function dropValue(k, v)
  local vk = valueKey(k, v)
  redis.call('ZREM', vk, loc)
  if redis.call('EXISTS', vk) == 0 then redis.call('ZREM', p .. 'vals:' .. k, v) end
end

-- Touch every key the change writes before writing any: while a Cluster
-- slot migrates, a key already moved fails the script, and that must happen
-- before the first write, since Redis does not undo a script's writes.
local touch = {p .. 'known', p .. 'untagged', p .. 'keys'}
for k in pairs(removing) do
  touch[#touch + 1] = p .. 'k:' .. k
  touch[#touch + 1] = p .. 'vals:' .. k
  touch[#touch + 1] = valueKey(k, cur[k])
end
for _, kv in ipairs(sets) do
  touch[#touch + 1] = p .. 'k:' .. kv[1]
  touch[#touch + 1] = p .. 'vals:' .. kv[1]
  touch[#touch + 1] = valueKey(kv[1], kv[2])
  if cur[kv[1]] ~= nil then touch[#touch + 1] = valueKey(kv[1], cur[kv[1]]) end
end
for _, key in ipairs(touch) do redis.call('EXISTS', key) end

for k in pairs(removing) do
  local old = cur[k]
  cur[k] = nil
  redis.call('HDEL', KEYS[1], k)
  redis.call('ZREM', p .. 'k:' .. k, loc)
  if redis.call('EXISTS', p .. 'k:' .. k) == 0 then redis.call('ZREM', p .. 'keys', k) end
  dropValue(k, old)
end
for _, kv in ipairs(sets) do
  local k, v = kv[1], kv[2]
  local old = cur[k]
  if old ~= v then
    cur[k] = v
    redis.call('HSET', KEYS[1], k, v)
    if old == nil then
      redis.call('ZADD', p .. 'k:' .. k, 0, loc)
      redis.call('ZADD', p .. 'keys', 0, k)
    else
      dropValue(k, old)
    end
    addValue(k, v)
  end
end

if not known then redis.call('ZADD', p .. 'known', 0, loc) end
if next(cur) == nil then
  redis.call('ZADD', p .. 'untagged', 0, loc)
else
  redis.call('ZREM', p .. 'untagged', loc)
end
return 0
