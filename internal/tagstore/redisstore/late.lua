-- late reports whether deadline, in milliseconds since the Unix epoch by
-- this server's own clock (0 for none), has passed. Every script that writes
-- checks it before its first write, so that a change queued behind a stalled
-- server never takes effect after its caller gave up on it.
local function late(deadline)
  if deadline == 0 then return false end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > deadline
end
