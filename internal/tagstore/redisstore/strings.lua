-- strings.lua lists the distinct keys (or values of one key) of a group
-- that some resource within ranges of Idents (the services and types asked
-- for) carries, in ascending order. Each candidate costs one range check
-- per range, and a call examines at most a budget of candidates.
-- KEYS[1] is the sorted set of candidates (keys, or vals:<key>); every key
-- it reads shares its hash tag.
--
-- ARGV: the index prefix that a candidate completes into the set of
-- resources carrying it ("tagway:{g}:k:" for keys, "tagway:{g}:v:<len>:<key>"
-- for values), from (inclusive), limit, budget (0: none), G then G
-- (low, high) ranges of Idents, high exclusive.
-- Returns {more, next, s1, s2, ...}.
local index, from = ARGV[1], ARGV[2]
local limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local ranges = readRanges(5)

local out = {0, ''}
local examined = 0
local batch = math.min(math.max(limit, 16), 512)
local start = '[' .. from
if from == '' then start = '-' end
while true do
  local cands = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, batch)
  for _, s in ipairs(cands) do
    if #out - 2 == limit then return out end
    examined = examined + 1
    local holders = index .. s
    for _, rg in ipairs(ranges) do
      if #redis.call('ZRANGEBYLEX', holders, '[' .. rg[1], '(' .. rg[2], 'LIMIT', 0, 1) > 0 then
        out[#out + 1] = s
        break
      end
    end
    if budget > 0 and examined >= budget then
      out[1], out[2] = 1, s .. '\0'
      return out
    end
  end
  if #cands < batch then return out end
  start = '(' .. cands[#cands]
end
