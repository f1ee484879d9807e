#!lua flags=no-writes
-- scan.lua lists the resources of one namespace that match tag filters, in
-- ascending order of local part. It walks the smallest index that holds every
-- match and examines at most a budget of candidates, so its cost follows the
-- matches, not the namespace. KEYS[1] is the namespace's 'known' set; every
-- key it reads shares that key's hash tag.
--
-- ARGV: key prefix of the namespace, from (inclusive; "" = start), limit,
-- budget (0: none), untagged-only ("1" or "0"), F then per filter: key, N,
-- N values.
-- Returns {more, next, examined, {local, {k1, v1, ...}}, ...}.
local p, from = ARGV[1], ARGV[2]
local limit, budget, untagged = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'
local filters = {}
local i = 7
for j = 1, tonumber(ARGV[6]) do
  local f = {key = ARGV[i], values = {}, accept = {}}
  local n = tonumber(ARGV[i + 1])
  for m = 1, n do
    f.values[m] = ARGV[i + 1 + m]
    f.accept[ARGV[i + 1 + m]] = true
  end
  filters[j] = f
  i = i + 2 + n
end

local drive
if untagged then
  drive = p .. 'untagged'
elseif #filters == 0 then
  drive = KEYS[1]
else
  local best
  for _, f in ipairs(filters) do
    local key = p .. 'k:' .. f.key
    if #f.values == 1 then key = p .. 'v:' .. #f.key .. ':' .. f.key .. f.values[1] end
    local n = redis.call('ZCARD', key)
    if n == 0 then return {0, '', 0} end
    if best == nil or n < best then best, drive = n, key end
  end
end

local out = {0, '', 0}
local found, examined = 0, 0
local batch = math.min(math.max(limit + 1, 16), 512)
if budget > 0 then batch = math.min(batch, budget) end
local start = '[' .. from
if from == '' then start = '-' end
while true do
  local cands = redis.call('ZRANGEBYLEX', drive, start, '+', 'LIMIT', 0, batch)
  for _, loc in ipairs(cands) do
    examined = examined + 1
    out[3] = examined
    local flat = redis.call('HGETALL', p .. 'r:' .. loc)
    local ok = true
    if #filters > 0 then
      local tags = {}
      for j = 1, #flat, 2 do tags[flat[j]] = flat[j + 1] end
      for _, f in ipairs(filters) do
        local v = tags[f.key]
        if v == nil or (#f.values > 0 and not f.accept[v]) then
          ok = false
          break
        end
      end
    end
    if ok then
      if found == limit then
        out[1], out[2] = 1, loc
        return out
      end
      found = found + 1
      out[#out + 1] = {loc, flat}
    end
    if budget > 0 and examined >= budget then
      out[1], out[2] = 1, loc .. '\0'
      return out
    end
  end
  if #cands < batch then return out end
  start = '(' .. cands[#cands]
end
