-- apply.lua changes the tags of resources of one group, and every index
-- that mentions them, each resource atomically. All keys share the group's
-- hash tag, so the script touches one Cluster slot; KEYS[1] (the group's
-- known set) routes it, and Redis refuses any key of another slot.
--
-- Redis does not undo a script's writes when a later command fails, and
-- while a Cluster slot migrates, any access to a key that is not (or no
-- longer) on this node fails. So the script reads and touches every key it
-- will write before its first write, decides everything then (including
-- which indexes its removals empty, counting what every resource of the
-- batch adds and removes), and writes without reading again: all additions
-- before all removals, so that no write lands on a key an earlier one
-- emptied.
--
-- Every resource the batch changes gets one entry in the group's change
-- feed (<prefix>feed, a stream), written in this same step, and the
-- group's key is published on the feed's channel: an entry exists if and
-- only if its change was applied. Entries older than the retention are
-- trimmed (MINID ~) as new ones arrive. Fields: o (the origin: surface,
-- operation, principal and request id, separated by \x1f), i (the Ident),
-- then per changed key "+<key>" (added, value ""), "~<key>" (changed, the
-- old value) or "-<key>" (removed, the old value), then per tag after the
-- change "=<key>" and its value.
--
-- ARGV: the group's key prefix ("tagway:{<group>}:"), the deadline (see
-- late), the oldest feed entry id to keep (entries before it are trimmed;
-- "" for no feed), its channel, the group's key, the origin, N, then N
-- resources, each: Ident, max counted tags (0: none), max
-- tags in all (0: none), E then E exempt prefixes (lower case), S then S
-- key/value pairs to set, R then R triples (key, "1" if the removal expects
-- a value else "0", expected value) to remove.
-- Returns one entry per resource: 0 when applied or when there was nothing
-- to do, {count, 0} ({count, 1} for the total) when a limit refused it; or
-- -1 alone when the deadline had passed, and nothing was applied.
local p = ARGV[1]
if late(tonumber(ARGV[2])) then return -1 end
local minid = ARGV[3]
local feed = minid ~= ''
local channel, group, origin = ARGV[4], ARGV[5], ARGV[6]
local n = tonumber(ARGV[7])
local i = 8
local rs = {}
for r = 1, n do
  local x = {ident = ARGV[i], max = tonumber(ARGV[i + 1]), maxTotal = tonumber(ARGV[i + 2])}
  i = i + 3
  x.exempt = {}
  for j = 1, tonumber(ARGV[i]) do x.exempt[j] = ARGV[i + j] end
  i = i + #x.exempt + 1
  x.sets = {}
  for j = 1, tonumber(ARGV[i]) do x.sets[j] = {ARGV[i + 2 * j - 1], ARGV[i + 2 * j]} end
  i = i + 2 * #x.sets + 1
  x.removes = {}
  for j = 1, tonumber(ARGV[i]) do
    x.removes[j] = {ARGV[i + 3 * j - 2], ARGV[i + 3 * j - 1] == '1', ARGV[i + 3 * j]}
  end
  i = i + 3 * #x.removes + 1
  rs[r] = x
end

local function always() return true end

local function counted(x, k)
  for _, e in ipairs(x.exempt) do
    if string.lower(string.sub(k, 1, #e)) == e then return false end
  end
  return true
end

-- A limit refuses a change that leaves more keys than it allows and more
-- than the resource had.
local function over(x, limit, counts)
  if limit <= 0 then return nil end
  local before, after = 0, 0
  for k in pairs(x.cur) do
    if counts(x, k) then
      before = before + 1
      if not x.removing[k] then after = after + 1 end
    end
  end
  for _, kv in ipairs(x.sets) do
    if (x.cur[kv[1]] == nil or x.removing[kv[1]]) and counts(x, kv[1]) then after = after + 1 end
  end
  if after > limit and after > before then return after end
  return nil
end

-- Key names, built once per key and value: Lua interns every string it
-- makes, so building the same name again costs a hash each time.
local names = {}
local function keyNames(k)
  local n = names[k]
  if not n then
    n = {k = p .. 'k:' .. k, vals = p .. 'vals:' .. k, vprefix = p .. 'v:' .. #k .. ':' .. k, v = {}}
    names[k] = n
  end
  return n
end
local function valueKey(k, v)
  local n = keyNames(k)
  local vk = n.v[v]
  if not vk then
    vk = n.vprefix .. v
    n.v[v] = vk
  end
  return vk
end

-- Read phase: decide each resource's change, and how much each index it
-- touches gains (+1) or loses (-1) over the whole batch.
local out = {}
local delta, set = {}, {}  -- index key -> net change; -> its entry in keys or vals:<key>
local function count(index, d, holder, member)
  delta[index] = (delta[index] or 0) + d
  if not set[index] then set[index] = {holder, member} end
end
local touch, touched = {}, {}
local function touchKey(key)
  if not touched[key] then
    touched[key] = true
    touch[#touch + 1] = key
  end
end
touchKey(KEYS[1])
touchKey(p .. 'untagged')
touchKey(p .. 'keys')
if feed then touchKey(p .. 'feed') end
for r, x in ipairs(rs) do
  out[r] = 0
  x.rkey = p .. 'r:' .. x.ident
  x.known = redis.call('ZSCORE', KEYS[1], x.ident)
  if x.known or #x.sets > 0 then
    x.cur = {}
    if x.known then -- only a known resource has tags
      local flat = redis.call('HGETALL', x.rkey)
      for j = 1, #flat, 2 do x.cur[flat[j]] = flat[j + 1] end
    end
    x.removing = {}
    for _, rm in ipairs(x.removes) do
      local old = x.cur[rm[1]]
      if old ~= nil and (not rm[2] or old == rm[3]) then x.removing[rm[1]] = true end
    end
    local c = over(x, x.maxTotal, always)
    if c then
      out[r] = {c, 1}
    else
      c = over(x, x.max, counted)
      if c then out[r] = {c, 0} end
    end
  end
  if out[r] == 0 and x.cur then
    x.new = {}
    for k, v in pairs(x.cur) do
      if not x.removing[k] then x.new[k] = v end
    end
    for _, kv in ipairs(x.sets) do x.new[kv[1]] = kv[2] end
    x.changes = {}
    for k, old in pairs(x.cur) do
      if x.new[k] ~= old then x.changes[#x.changes + 1] = {k, old, x.new[k]} end
    end
    for k, v in pairs(x.new) do
      if x.cur[k] == nil then x.changes[#x.changes + 1] = {k, nil, v} end
    end
    for _, c in ipairs(x.changes) do
      local k, old, v = c[1], c[2], c[3]
      local n = keyNames(k)
      touchKey(n.k)
      touchKey(n.vals)
      if old == nil then count(n.k, 1, p .. 'keys', k) end
      if v == nil then count(n.k, -1, p .. 'keys', k) end
      if old ~= nil then count(valueKey(k, old), -1, n.vals, old) end
      if v ~= nil then count(valueKey(k, v), 1, n.vals, v) end
    end
    touchKey(x.rkey)
  end
end
-- Which indexes the batch empties: those it takes more from than it adds,
-- down to nothing.
local empties = {}
for index, d in pairs(delta) do
  touchKey(index)
  if d < 0 and redis.call('ZCARD', index) + d == 0 then empties[index] = true end
end
-- Touch every key in a few variadic EXISTS: one missing from this node
-- (a slot migrating away) fails the script here, before any write.
local function chunked(cmd, key, items)
  local function run(part)
    if key then
      redis.call(cmd, key, unpack(part))
    else
      redis.call(cmd, unpack(part))
    end
  end
  if #items <= 500 then return run(items) end
  for i = 1, #items, 500 do
    local part = {}
    for j = i, math.min(i + 499, #items) do part[#part + 1] = items[j] end
    run(part)
  end
end
chunked('EXISTS', nil, touch)

-- The writes, grouped by key so that each index takes one command per
-- batch: first every addition, then every removal, each taking away a
-- member that is there, so an index empties only at its last removal and
-- leaves its holder then.
local adds, addOrder, added = {}, {}, {}  -- sorted set -> {score, member, ...}; -> members
local rems, remOrder = {}, {}              -- sorted set -> {member, ...}
local function add(index, member)
  local seen = added[index]
  if not seen then
    seen = {}
    added[index], adds[index] = seen, {}
    addOrder[#addOrder + 1] = index
  elseif seen[member] then
    return
  end
  seen[member] = true
  local t = adds[index]
  t[#t + 1], t[#t + 2] = 0, member
end
local function rem(index, member)
  if not rems[index] then rems[index] = {}; remOrder[#remOrder + 1] = index end
  local t = rems[index]
  t[#t + 1] = member
end

for r, x in ipairs(rs) do
  if x.changes then
    local hset = {}
    for _, c in ipairs(x.changes) do
      local k, old, v = c[1], c[2], c[3]
      if v ~= nil then
        hset[#hset + 1], hset[#hset + 2] = k, v
        if old == nil then
          add(keyNames(k).k, x.ident)
          add(p .. 'keys', k)
        end
        add(valueKey(k, v), x.ident)
        add(keyNames(k).vals, v)
      end
      if old ~= nil then rem(valueKey(k, old), x.ident) end
      if v == nil then rem(keyNames(k).k, x.ident) end
    end
    if #hset > 0 then redis.call('HSET', x.rkey, unpack(hset)) end
    if not x.known then add(KEYS[1], x.ident) end
    if next(x.new) == nil then
      add(p .. 'untagged', x.ident)
    elseif x.known then
      rem(p .. 'untagged', x.ident)
    end
  end
end
for _, index in ipairs(addOrder) do chunked('ZADD', index, adds[index]) end

for r, x in ipairs(rs) do
  if x.changes then
    local hdel = {}
    for _, c in ipairs(x.changes) do
      if c[3] == nil then hdel[#hdel + 1] = c[1] end
    end
    if #hdel > 0 then redis.call('HDEL', x.rkey, unpack(hdel)) end
  end
end
for _, index in ipairs(remOrder) do chunked('ZREM', index, rems[index]) end
for index in pairs(empties) do
  redis.call('ZREM', set[index][1], set[index][2])
end

if feed then
  local any = false
  for r, x in ipairs(rs) do
    if x.changes and #x.changes > 0 then
      any = true
      local e = {'XADD', p .. 'feed', 'MINID', '~', minid, '*', 'o', origin, 'i', x.ident}
      for _, c in ipairs(x.changes) do
        local k, old, v = c[1], c[2], c[3]
        if old == nil then
          e[#e + 1], e[#e + 2] = '+' .. k, ''
        elseif v == nil then
          e[#e + 1], e[#e + 2] = '-' .. k, old
        else
          e[#e + 1], e[#e + 2] = '~' .. k, old
        end
      end
      for k, v in pairs(x.new) do
        e[#e + 1], e[#e + 2] = '=' .. k, v
      end
      redis.call(unpack(e))
    end
  end
  if any then redis.call('PUBLISH', channel, group) end
end
return out
