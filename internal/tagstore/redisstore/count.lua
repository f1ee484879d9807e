-- count.lua counts the resources of one group that match tag filters within
-- ranges of Idents. It walks the smallest index that holds every match,
-- and counts without walking (ZLEXCOUNT) when that index holds nothing but
-- matches: no filter, or one filter of at most one value per index. KEYS[1]
-- is the group's known set.
--
-- ARGV: the group's key prefix, untagged-only ("1" or "0"), G then G
-- (low, high) ranges, F then per filter: key, N, N values.
-- Returns the count.
local p, untagged = ARGV[1], ARGV[2] == '1'
local ranges = {}
local i = 4
for j = 1, tonumber(ARGV[3]) do
  ranges[j] = {ARGV[i], ARGV[i + 1]}
  i = i + 2
end
local filters = {}
local nf = tonumber(ARGV[i])
i = i + 1
for j = 1, nf do
  local f = {key = ARGV[i], values = {}, accept = {}}
  local n = tonumber(ARGV[i + 1])
  for m = 1, n do
    f.values[m] = ARGV[i + 1 + m]
    f.accept[ARGV[i + 1 + m]] = true
  end
  filters[j] = f
  i = i + 2 + n
end

local function valueKey(k, v) return p .. 'v:' .. #k .. ':' .. k .. v end
local function lexcount(key)
  local n = 0
  for _, rg in ipairs(ranges) do n = n + redis.call('ZLEXCOUNT', key, '[' .. rg[1], '(' .. rg[2]) end
  return n
end

if untagged then return lexcount(p .. 'untagged') end
if #filters == 0 then return lexcount(KEYS[1]) end
if #filters == 1 then
  local f = filters[1]
  if #f.values == 0 then return lexcount(p .. 'k:' .. f.key) end
  -- A resource has one value per key: the value indexes are disjoint.
  local n = 0
  for _, v in ipairs(f.values) do n = n + lexcount(valueKey(f.key, v)) end
  return n
end

local drive, best
for _, f in ipairs(filters) do
  local key = p .. 'k:' .. f.key
  if #f.values == 1 then key = valueKey(f.key, f.values[1]) end
  local n = redis.call('ZCARD', key)
  if n == 0 then return 0 end
  if best == nil or n < best then best, drive = n, key end
end
local count = 0
for _, rg in ipairs(ranges) do
  local start = '[' .. rg[1]
  while true do
    local cands = redis.call('ZRANGEBYLEX', drive, start, '(' .. rg[2], 'LIMIT', 0, 512)
    for _, ident in ipairs(cands) do
      local ok = true
      for _, f in ipairs(filters) do
        local v = redis.call('HGET', p .. 'r:' .. ident, f.key)
        if not v or (#f.values > 0 and not f.accept[v]) then
          ok = false
          break
        end
      end
      if ok then count = count + 1 end
    end
    if #cands < 512 then break end
    start = '(' .. cands[#cands]
  end
end
return count
