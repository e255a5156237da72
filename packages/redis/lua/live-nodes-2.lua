--[[
  The nodes that count as live now (see includes/live-since.lua): the cluster layout's
  publishes route by it, as deliver-n.lua does in its own call.

  KEYS[1]  nodes zset        node id -> last heartbeat (ms)
  KEYS[2]  stall marker
  ARGV[1]  liveness window   ms

  Returns the live node ids.
]]
--- @include "live-since"
local oldest = liveSince(KEYS[1], KEYS[2], tonumber(ARGV[1]))
local from = oldest == -math.huge and "-inf" or string.format("%d", oldest)
return redis.call("ZRANGEBYSCORE", KEYS[1], from, "+inf")
