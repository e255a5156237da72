--[[
  Marks a node alive at Redis's clock, so liveness never depends on node clocks.

  KEYS[1]  nodes zset  node id -> last heartbeat (ms)
  ARGV[1]  node id
  ARGV[2]  liveness window (ms): returns the ids of nodes silent for longer than this

  Returns the ids of dead nodes, for the caller to reap.
]]
--- @include "now-ms"
local now = nowMs()
redis.call("ZADD", KEYS[1], now, ARGV[1])
return redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", "(" .. (now - tonumber(ARGV[2])), "LIMIT", 0, 10)
