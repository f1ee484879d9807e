-- scan.lua lists the resources of one group that match tag filters, in
-- ascending order of Ident, within ranges of Idents (the services and types
-- asked for). It walks the smallest index that holds every match and
-- examines at most a budget of candidates, so its cost follows the matches,
-- not the group. KEYS[1] is the group's known set; every key it reads
-- shares that key's hash tag.
--
-- ARGV: the group's key prefix, from (inclusive; "" = start), limit, budget
-- (0: none), untagged-only ("1" or "0"), G then G ranges of Idents as
-- (low, high) pairs, high exclusive, sorted and disjoint; F then per filter:
-- key, N, N values.
-- Returns {more, next, examined, {ident, {k1, v1, ...}}, ...}.
local p, from = ARGV[1], ARGV[2]
local limit, budget, untagged = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'
local ranges, i = readRanges(6)
local filters = readFilters(i)

local drive
if untagged then
  drive = p .. 'untagged'
elseif #filters == 0 then
  drive = KEYS[1]
else
  drive = driver(p, filters)
  if not drive then return {0, '', 0} end
end

local out = {0, '', 0}
local found, examined = 0, 0
local batch = math.min(math.max(limit + 1, 16), 512)
if budget > 0 then batch = math.min(batch, budget) end
for _, rg in ipairs(ranges) do
  local lo, hi = rg[1], rg[2]
  if from > lo then lo = from end
  if lo < hi then
    local start = '[' .. lo
    while true do
      local cands = redis.call('ZRANGEBYLEX', drive, start, '(' .. hi, 'LIMIT', 0, batch)
      for _, ident in ipairs(cands) do
        examined = examined + 1
        out[3] = examined
        local flat = redis.call('HGETALL', p .. 'r:' .. ident)
        local ok = true
        if #filters > 0 then
          local tags = {}
          for j = 1, #flat, 2 do tags[flat[j]] = flat[j + 1] end
          ok = passes(function(k) return tags[k] end, filters)
        end
        if ok then
          if found == limit then
            out[1], out[2] = 1, ident
            return out
          end
          found = found + 1
          out[#out + 1] = {ident, flat}
        end
        if budget > 0 and examined >= budget then
          out[1], out[2] = 1, ident .. '\0'
          return out
        end
      end
      if #cands < batch then break end
      start = '(' .. cands[#cands]
    end
  end
end
return out
