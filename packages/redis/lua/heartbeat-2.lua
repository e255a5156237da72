--[[
  Marks a node alive at Redis's clock, so liveness never depends on node clocks.

  KEYS[1]  nodes zset  node id -> last heartbeat (ms)
  KEYS[2]  stall marker  set (for one window) when a node finds itself silent past the window
  ARGV[1]  node id
  ARGV[2]  liveness window (ms): returns the ids of nodes silent for longer than this

  Returns {joined, dead node id, …}: joined is 1 when the node was not in the set (its
  first beat, or Redis lost it, or another node reaped it as dead: its interests must be
  restored), 0 otherwise; then the ids of dead nodes, for the caller to reap. A node that was
  itself silent past the window reaps no one: the silence was most likely Redis's (paused, or
  out of reach of every node). It sets the stall marker, so that for one window no node is
  taken for dead (see includes/live-since.lua) while the others beat again.
]]
--- @include "now-ms"
local now = nowMs()
local window = tonumber(ARGV[2])
local previous = redis.call("ZSCORE", KEYS[1], ARGV[1])
local joined = redis.call("ZADD", KEYS[1], now, ARGV[1])
local out = { joined }
if previous and tonumber(previous) < now - window then
  redis.call("SET", KEYS[2], now, "PX", window)
  return out
end
if redis.call("EXISTS", KEYS[2]) == 1 then return out end
for _, node in ipairs(redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", "(" .. (now - window), "LIMIT", 0, 10)) do
  table.insert(out, node)
end
return out
