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
local ranges, i = readRanges(3)
local filters = readFilters(i)

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
  for _, v in ipairs(f.values) do n = n + lexcount(valueKey(p, f.key, v)) end
  return n
end

local drive = driver(p, filters)
if not drive then return 0 end
local count = 0
for _, rg in ipairs(ranges) do
  local start = '[' .. rg[1]
  while true do
    local cands = redis.call('ZRANGEBYLEX', drive, start, '(' .. rg[2], 'LIMIT', 0, 512)
    for _, ident in ipairs(cands) do
      local r = p .. 'r:' .. ident
      if passes(function(k) return redis.call('HGET', r, k) end, filters) then count = count + 1 end
    end
    if #cands < 512 then break end
    start = '(' .. cands[#cands]
  end
end
return count
