-- forget.lua forgets groups that hold no known resource, in two steps that
-- are at least a window apart, so that no change still under way can land
-- in a group after it is forgotten. All its keys are the registry's.
--
-- A writer moves a group's generation (gen) before it sends a change that
-- may fill the group, and the change lands before its deadline, at most
-- MaxChangeAge after it is sent, or never. The first time a group is seen
-- empty, its generation and the server's time are noted; when it is seen
-- empty again at least the window later with the same generation, every
-- change sent before the note has landed or never will, none has been sent
-- since, and the group is still empty: it is forgotten.
--
-- KEYS: the registry (groups), the generations (gen), the candidates
-- (forget). ARGV: the window in milliseconds, N, then N pairs (group key,
-- "1" if it was just seen empty else "0").
-- Returns how many groups it forgot.
local window, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local forgot = 0
for i = 1, n do
  local g, empty = ARGV[1 + 2 * i], ARGV[2 + 2 * i] == '1'
  if not empty then
    redis.call('HDEL', KEYS[3], g)
  else
    local gen = redis.call('HGET', KEYS[2], g) or '0'
    local seen = redis.call('HGET', KEYS[3], g)
    local sep = seen and string.find(seen, ':', 1, true)
    if sep and string.sub(seen, 1, sep - 1) == gen then
      if now - tonumber(string.sub(seen, sep + 1)) >= window then
        redis.call('ZREM', KEYS[1], g)
        redis.call('HDEL', KEYS[2], g)
        redis.call('HDEL', KEYS[3], g)
        forgot = forgot + 1
      end
    else
      redis.call('HSET', KEYS[3], g, gen .. ':' .. now)
    end
  end
end
return forgot
