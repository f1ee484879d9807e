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
-- The script runs for every change tagway makes, so it is written for
-- Redis's CPU: most of its time is Lua's, not the commands'. It reads the
-- arguments in place instead of copying them into tables, builds each key
-- name once per call, decides each resource's writes as it reads it (one
-- list of members per index, so each index takes one command per batch),
-- and gives Redis scores as strings, which it would otherwise format from
-- a Lua number for every member.
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
local A = ARGV
local p = A[1]
if late(tonumber(A[2])) then return -1 end
local minid = A[3]
local feed = minid ~= ''
local channel, group, origin = A[4], A[5], A[6]
local n = tonumber(A[7])
local knownKey, untaggedKey, keysKey, feedKey = KEYS[1], p .. 'untagged', p .. 'keys', p .. 'feed'

-- Key names, built once per key and value: Lua interns every string it
-- makes, so building the same name again costs a hash each time.
local names = {}
local function keyNames(k)
  local nm = names[k]
  if not nm then
    nm = {k = p .. 'k:' .. k, vals = p .. 'vals:' .. k, vprefix = p .. 'v:' .. #k .. ':' .. k, v = {}}
    if feed then
      nm.add, nm.chg, nm.del, nm.tag = '+' .. k, '~' .. k, '-' .. k, '=' .. k
    end
    names[k] = nm
  end
  return nm
end
local function valueKey(nm, v)
  local vk = nm.v[v]
  if not vk then
    vk = nm.vprefix .. v
    nm.v[v] = vk
  end
  return vk
end

-- The indexes the batch changes: index key -> {net change in members,
-- holder (keys or vals:<key>), its member there, members to add (score,
-- member, ...) or false, members to remove or false}.
local idx, order = {}, {}
local function index(key, holder, member)
  local e = idx[key]
  if not e then
    e = {0, holder, member, false, false}
    idx[key] = e
    order[#order + 1] = key
  end
  return e
end
local function gain(e, ident)
  e[1] = e[1] + 1
  local a = e[4]
  if not a then a = {}; e[4] = a end
  a[#a + 1], a[#a + 2] = '0', ident
end
local function lose(e, ident)
  e[1] = e[1] - 1
  local a = e[5]
  if not a then a = {}; e[5] = a end
  a[#a + 1] = ident
end

local function counted(k, ei, en)
  for j = ei, ei + en - 1 do
    local e = A[j]
    if string.lower(string.sub(k, 1, #e)) == e then return false end
  end
  return true
end

-- Read phase: decide each resource's change and the writes it takes.
local out = {}
local touch = {knownKey, untaggedKey, keysKey}
if feed then touch[4] = feedKey end
local knownAdds, untaggedAdds, untaggedRems = {}, {}, {}
local hsets, hdels, entries = {}, {}, {} -- {key, field, value, ...}; {key, field, ...}; XADD arguments
local empty = {}
local i = 8
for r = 1, n do
  out[r] = 0
  local ident, max, maxTotal = A[i], tonumber(A[i + 1]), tonumber(A[i + 2])
  local ei, en = i + 4, tonumber(A[i + 3])
  i = ei + en
  local si, sn = i + 1, tonumber(A[i]) -- sets: A[si + 2j], A[si + 2j + 1], j < sn
  i = si + 2 * sn
  local ri, rn = i + 1, tonumber(A[i]) -- removals: A[ri + 3j .. ri + 3j + 2], j < rn
  i = ri + 3 * rn
  local rkey = p .. 'r:' .. ident
  -- A resource has a hash only while it has tags, and only a known
  -- resource has tags: a hash says the resource is known, and only a change
  -- that sets tags on a resource without one asks known (ZSCORE, whose
  -- reply Redis formats as a double). A change that only removes has
  -- nothing to do on a resource without tags, known or not.
  local flat = redis.call('HGETALL', rkey)
  local isKnown = #flat > 0
  if not isKnown and sn > 0 then isKnown = redis.call('ZSCORE', knownKey, ident) ~= false end
  if isKnown or sn > 0 then
    local cur, ncur = empty, 0
    if #flat > 0 then
      cur = {}
      for j = 1, #flat, 2 do cur[flat[j]] = flat[j + 1] end
      ncur = #flat / 2
    end
    local rm -- keys the change removes: present, with the expected value
    for j = ri, ri + 3 * rn - 1, 3 do
      local k = A[j]
      local old = cur[k]
      if old ~= nil and (A[j + 1] ~= '1' or old == A[j + 2]) then
        rm = rm or {}
        rm[k] = true
      end
    end
    local sv -- the keys set, when the resource has tags: key -> value
    if ncur > 0 and sn > 0 then
      sv = {}
      for j = si, si + 2 * sn - 1, 2 do sv[A[j]] = A[j + 1] end
    end
    local after = ncur
    if rm then for _ in pairs(rm) do after = after - 1 end end
    for j = si, si + 2 * sn - 1, 2 do
      local k = A[j]
      if cur[k] == nil or (rm and rm[k]) then after = after + 1 end
    end
    -- A limit refuses a change that leaves more keys than it allows and
    -- more than the resource had.
    if maxTotal > 0 and after > maxTotal and after > ncur then
      out[r] = {after, 1}
    elseif max > 0 and after > max then
      local before, cafter = 0, 0
      for k in pairs(cur) do
        if counted(k, ei, en) then
          before = before + 1
          if not (rm and rm[k]) then cafter = cafter + 1 end
        end
      end
      for j = si, si + 2 * sn - 1, 2 do
        local k = A[j]
        if (cur[k] == nil or (rm and rm[k])) and counted(k, ei, en) then cafter = cafter + 1 end
      end
      if cafter > max and cafter > before then out[r] = {cafter, 0} end
    end
    if out[r] == 0 then
      local hs, hd, e = nil, nil, nil
      if feed then e = {'XADD', feedKey, 'MINID', '~', minid, '*', 'o', origin, 'i', ident} end
      -- Keys set to a new value.
      for j = si, si + 2 * sn - 1, 2 do
        local k, v = A[j], A[j + 1]
        local old = cur[k]
        if old ~= v then
          local nm = keyNames(k)
          hs = hs or {rkey}
          hs[#hs + 1], hs[#hs + 2] = k, v
          gain(index(valueKey(nm, v), nm.vals, v), ident)
          if old == nil then
            gain(index(nm.k, keysKey, k), ident)
            if e then e[#e + 1], e[#e + 2] = nm.add, '' end
          else
            lose(index(valueKey(nm, old), nm.vals, old), ident)
            if e then e[#e + 1], e[#e + 2] = nm.chg, old end
          end
        end
      end
      -- Keys removed and not set again.
      if rm then
        for j = ri, ri + 3 * rn - 1, 3 do
          local k = A[j]
          if rm[k] and not (sv and sv[k]) then
            rm[k] = false -- once, however often the change names it
            local old = cur[k]
            local nm = keyNames(k)
            hd = hd or {rkey}
            hd[#hd + 1] = k
            lose(index(valueKey(nm, old), nm.vals, old), ident)
            lose(index(nm.k, keysKey, k), ident)
            if e then e[#e + 1], e[#e + 2] = nm.del, old end
          end
        end
      end
      if hs or hd then
        touch[#touch + 1] = rkey
        if hs then hsets[#hsets + 1] = hs end
        if hd then hdels[#hdels + 1] = hd end
        if not isKnown then knownAdds[#knownAdds + 1], knownAdds[#knownAdds + 2] = '0', ident end
        if after == 0 then
          untaggedAdds[#untaggedAdds + 1], untaggedAdds[#untaggedAdds + 2] = '0', ident
        elseif isKnown and ncur == 0 then
          untaggedRems[#untaggedRems + 1] = ident
        end
        if e then
          -- The tags after the change: those kept, then those set.
          for k, v in pairs(cur) do
            if not ((rm and rm[k] ~= nil) or (sv and sv[k] ~= nil)) then
              e[#e + 1], e[#e + 2] = keyNames(k).tag, v
            end
          end
          for j = si, si + 2 * sn - 1, 2 do
            e[#e + 1], e[#e + 2] = keyNames(A[j]).tag, A[j + 1]
          end
          entries[#entries + 1] = e
        end
      end
    end
  end
end

-- Which indexes the batch empties: those it takes more from than it adds,
-- down to nothing. Every index and holder is touched below.
local empties = {}
for _, key in ipairs(order) do
  touch[#touch + 1] = key
  local e = idx[key]
  if e[1] < 0 and redis.call('ZCARD', key) + e[1] == 0 then empties[#empties + 1] = e end
end
for _, nm in pairs(names) do touch[#touch + 1] = nm.vals end

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

-- The writes, one command per index for the batch: first every addition
-- (an index that gains a member enters its holder), then every removal,
-- each taking away a member that is there, so an index empties only at
-- its last removal and leaves its holder then.
for _, hs in ipairs(hsets) do redis.call('HSET', unpack(hs)) end
if #knownAdds > 0 then chunked('ZADD', knownKey, knownAdds) end
if #untaggedAdds > 0 then chunked('ZADD', untaggedKey, untaggedAdds) end
local holders, holderOrder = {}, {}
for _, key in ipairs(order) do
  local e = idx[key]
  if e[4] then
    chunked('ZADD', key, e[4])
    local h = holders[e[2]]
    if not h then h = {}; holders[e[2]] = h; holderOrder[#holderOrder + 1] = e[2] end
    h[#h + 1], h[#h + 2] = '0', e[3]
  end
end
for _, holder in ipairs(holderOrder) do chunked('ZADD', holder, holders[holder]) end

for _, hd in ipairs(hdels) do redis.call('HDEL', unpack(hd)) end
if #untaggedRems > 0 then chunked('ZREM', untaggedKey, untaggedRems) end
for _, key in ipairs(order) do
  local e = idx[key]
  if e[5] then chunked('ZREM', key, e[5]) end
end
for _, e in ipairs(empties) do redis.call('ZREM', e[2], e[3]) end

if #entries > 0 then
  for _, e in ipairs(entries) do redis.call(unpack(e)) end
  redis.call('PUBLISH', channel, group)
end
return out
