-- filters.lua is what the reading scripts (scan.lua, count.lua,
-- strings.lua) share: reading their arguments as rangeArgs and filterArgs
-- write them, naming a value's index, choosing the index to walk by tag
-- filters, and checking a candidate against them.

-- readRanges reads, from ARGV[i], G then G (low, high) ranges of Idents,
-- high exclusive; it returns them and the index past them.
local function readRanges(i)
  local ranges = {}
  for j = 1, tonumber(ARGV[i]) do ranges[j] = {ARGV[i + 2 * j - 1], ARGV[i + 2 * j]} end
  return ranges, i + 1 + 2 * #ranges
end

-- readFilters reads, from ARGV[i], F then per filter: key, N, N values;
-- each filter also gets the set of values it accepts.
local function readFilters(i)
  local filters = {}
  for j = 1, tonumber(ARGV[i]) do
    i = i + 1
    local f = {key = ARGV[i], values = {}, accept = {}}
    for m = 1, tonumber(ARGV[i + 1]) do
      f.values[m] = ARGV[i + 1 + m]
      f.accept[ARGV[i + 1 + m]] = true
    end
    filters[j] = f
    i = i + 1 + #f.values
  end
  return filters
end

local function valueKey(p, k, v) return p .. 'v:' .. #k .. ':' .. k .. v end

-- driver returns the smallest index holding every resource that passes
-- filters (one at least): a key's, or a value's for a filter of one value;
-- nil when one of them is empty, and nothing can pass.
local function driver(p, filters)
  local drive, best
  for _, f in ipairs(filters) do
    local key = p .. 'k:' .. f.key
    if #f.values == 1 then key = valueKey(p, f.key, f.values[1]) end
    local n = redis.call('ZCARD', key)
    if n == 0 then return nil end
    if best == nil or n < best then best, drive = n, key end
  end
  return drive
end

-- passes reports whether a resource whose value of a key get returns
-- (nil: none) passes every filter.
local function passes(get, filters)
  for _, f in ipairs(filters) do
    local v = get(f.key)
    if not v or (#f.values > 0 and not f.accept[v]) then return false end
  end
  return true
end

