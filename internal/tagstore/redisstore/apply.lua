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
-- Redis's CPU, of which Lua (allocation and garbage collection above all)
-- took as much as the commands. It reads the arguments in place instead of
-- copying them into tables, builds each key name and index record once per
-- call, decides each resource's index writes as it reads it (one list of
-- members per index, so each index takes one command per batch), builds
-- the hash writes and feed entries as it sends them, in one reused table,
-- and gives Redis scores as strings, which it would otherwise format from
-- a Lua number for every member.
--
-- ARGV: the group's key prefix ("tagway:{<group>}:"), the deadline (see
-- late), the oldest feed entry id to keep (entries before it are trimmed;
-- "" for no feed), its channel, the group's key, the origin, N, then N
-- resources, each: Ident, max counted tags (0: none), max
-- tags in all (0: none), E then E exempt prefixes (lower case), S then S
-- key/value pairs to set, R then R keys to remove, X then X key/value
-- pairs: a key of those to remove that goes only while it has that value.
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

-- The indexes the batch changes, in order of first use, each {net change
-- in members, holder (keys or vals:<key>), its member there, members to
-- add (score, member, ...), members to remove, the index's key}.
local idx = {}
local function newIndex(key, holder, member)
  local e = {0, holder, member, {}, {}, key}
  idx[#idx + 1] = e
  return e
end

-- Per key, built once per call (Lua interns every string it makes, so
-- building the same name again costs a hash each time): its index in k:,
-- its holder vals:, and per value its index in v:.
local names = {}
local function keyNames(k)
  local nm = names[k]
  if not nm then
    nm = {vals = p .. 'vals:' .. k, vprefix = p .. 'v:' .. #k .. ':' .. k, ve = {}}
    nm.ke = newIndex(p .. 'k:' .. k, keysKey, k)
    if feed then nm.add, nm.chg, nm.del = '+' .. k, '~' .. k, '-' .. k end
    names[k] = nm
  end
  return nm
end
local function valueIndex(nm, v)
  local e = nm.ve[v]
  if not e then
    e = newIndex(nm.vprefix .. v, nm.vals, v)
    nm.ve[v] = e
  end
  return e
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
-- The resources the batch changes, each {hash key, Ident, tags before,
-- removals (key -> false once decided; true for a key also set) or false,
-- keys set (key -> value) or false, index of its sets in ARGV, their
-- number, whether it sets a new value, whether it removes}: the writes to
-- its hash and its feed entry are built from them as they are sent, in one
-- reused table, rather than kept per resource.
local changed = {}
local empty = {}
local i = 8
for r = 1, n do
  out[r] = 0
  local ident, max, maxTotal = A[i], tonumber(A[i + 1]), tonumber(A[i + 2])
  local ei, en = i + 4, tonumber(A[i + 3])
  i = ei + en
  local si, sn = i + 1, tonumber(A[i]) -- sets: A[si + 2j], A[si + 2j + 1], j < sn
  i = si + 2 * sn
  local ri, rn = i + 1, tonumber(A[i]) -- keys to remove: A[ri .. ri + rn - 1]
  i = ri + rn
  local xi, xn = i + 1, tonumber(A[i]) -- expected values: A[xi + 2j], A[xi + 2j + 1], j < xn
  i = xi + 2 * xn
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
    local expect
    if xn > 0 and ncur > 0 then
      expect = {}
      for j = xi, xi + 2 * xn - 1, 2 do expect[A[j]] = A[j + 1] end
    end
    for j = ri, ri + rn - 1 do
      local k = A[j]
      local old = cur[k]
      if old ~= nil and (not expect or expect[k] == nil or old == expect[k]) then
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
    if ncur == 0 then
      after = sn
    else
      for j = si, si + 2 * sn - 1, 2 do
        local k = A[j]
        if cur[k] == nil or (rm and rm[k]) then after = after + 1 end
      end
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
      local hs, hd = false, false
      -- Keys set to a new value.
      for j = si, si + 2 * sn - 1, 2 do
        local k, v = A[j], A[j + 1]
        local old = cur[k]
        if old ~= v then
          local nm = keyNames(k)
          hs = true
          local x = valueIndex(nm, v)
          x[1] = x[1] + 1
          local a = x[4]
          a[#a + 1], a[#a + 2] = '0', ident
          if old == nil then
            x = nm.ke
            x[1] = x[1] + 1
            a = x[4]
            a[#a + 1], a[#a + 2] = '0', ident
          else
            x = valueIndex(nm, old)
            x[1] = x[1] - 1
            a = x[5]
            a[#a + 1] = ident
          end
        end
      end
      -- Keys removed and not set again.
      if rm then
        for j = ri, ri + rn - 1 do
          local k = A[j]
          if rm[k] and not (sv and sv[k]) then
            rm[k] = false -- once, however often the change names it
            local old = cur[k]
            local nm = keyNames(k)
            hd = true
            local x = valueIndex(nm, old)
            x[1] = x[1] - 1
            local a = x[5]
            a[#a + 1] = ident
            x = nm.ke
            x[1] = x[1] - 1
            a = x[5]
            a[#a + 1] = ident
          end
        end
      end
      if hs or hd then
        touch[#touch + 1] = rkey
        changed[#changed + 1] = {rkey, ident, cur, rm or false, sv or false, si, sn, hs, hd}
        if not isKnown then knownAdds[#knownAdds + 1], knownAdds[#knownAdds + 2] = '0', ident end
        if after == 0 then
          untaggedAdds[#untaggedAdds + 1], untaggedAdds[#untaggedAdds + 2] = '0', ident
        elseif isKnown and ncur == 0 then
          untaggedRems[#untaggedRems + 1] = ident
        end
      end
    end
  end
end

-- Which indexes the batch empties: those it takes more from than it adds,
-- down to nothing. Every index and holder is touched below.
local empties = {}
for _, e in ipairs(idx) do
  touch[#touch + 1] = e[6]
  if e[1] < 0 and redis.call('ZCARD', e[6]) + e[1] == 0 then empties[#empties + 1] = e end
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
local buf = {}
for _, c in ipairs(changed) do
  if c[8] then
    local cur, m = c[3], 1
    buf[1] = c[1]
    for j = c[6], c[6] + 2 * c[7] - 1, 2 do
      local k, v = A[j], A[j + 1]
      if cur[k] ~= v then buf[m + 1], buf[m + 2], m = k, v, m + 2 end
    end
    redis.call('HSET', unpack(buf, 1, m))
  end
end
if #knownAdds > 0 then chunked('ZADD', knownKey, knownAdds) end
if #untaggedAdds > 0 then chunked('ZADD', untaggedKey, untaggedAdds) end
local holders, holderOrder = {}, {}
for _, e in ipairs(idx) do
  if #e[4] > 0 then
    chunked('ZADD', e[6], e[4])
    local h = holders[e[2]]
    if not h then h = {}; holders[e[2]] = h; holderOrder[#holderOrder + 1] = e[2] end
    h[#h + 1], h[#h + 2] = '0', e[3]
  end
end
for _, holder in ipairs(holderOrder) do chunked('ZADD', holder, holders[holder]) end

for _, c in ipairs(changed) do
  if c[9] then
    local m = 1
    buf[1] = c[1]
    for k, pending in pairs(c[4]) do
      if not pending then buf[m + 1], m = k, m + 1 end
    end
    redis.call('HDEL', unpack(buf, 1, m))
  end
end
if #untaggedRems > 0 then chunked('ZREM', untaggedKey, untaggedRems) end
for _, e in ipairs(idx) do
  if #e[5] > 0 then chunked('ZREM', e[6], e[5]) end
end
for _, e in ipairs(empties) do redis.call('ZREM', e[2], e[3]) end

-- The feed: per resource, its changes, then every tag it has after them
-- (those kept, then those set).
if feed and #changed > 0 then
  local e = {'XADD', feedKey, 'MINID', '~', minid, '*', 'o', origin, 'i'}
  local tagNames = {}
  local function tagName(k)
    local t = tagNames[k]
    if not t then t = '=' .. k; tagNames[k] = t end
    return t
  end
  for _, c in ipairs(changed) do
    local cur, rm, sv = c[3], c[4], c[5]
    local m = 10
    e[10] = c[2]
    for j = c[6], c[6] + 2 * c[7] - 1, 2 do
      local k, v = A[j], A[j + 1]
      local old = cur[k]
      if old == nil then
        e[m + 1], e[m + 2], m = names[k].add, '', m + 2
      elseif old ~= v then
        e[m + 1], e[m + 2], m = names[k].chg, old, m + 2
      end
    end
    if rm then
      for k, pending in pairs(rm) do
        if not pending then e[m + 1], e[m + 2], m = names[k].del, cur[k], m + 2 end
      end
    end
    for k, v in pairs(cur) do
      if not ((rm and rm[k] ~= nil) or (sv and sv[k] ~= nil)) then
        e[m + 1], e[m + 2], m = tagName(k), v, m + 2
      end
    end
    for j = c[6], c[6] + 2 * c[7] - 1, 2 do
      e[m + 1], e[m + 2], m = tagName(A[j]), A[j + 1], m + 2
    end
    redis.call(unpack(e, 1, m))
  end
  redis.call('PUBLISH', channel, group)
end
return out
