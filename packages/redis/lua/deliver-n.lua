--[[
  Routes one batch of deliveries and publishes it: each destination's lines go to the
  live nodes that hold that user or topic, one PUBLISH per node; broadcasts go to the
  broadcast channel. Routing and publishing are one atomic step, so a node registered
  before this runs gets the batch. Also releases the batch's pending count.

  KEYS[1]  nodes zset        node id -> last heartbeat (ms)
  KEYS[2]  pending counter   decremented by ARGV[2]
  KEYS[3]  stall marker      see includes/live-since.lua
  KEYS[4…] interest hashes   one per destination (a user's presence or a topic's subscribers)

  ARGV[1]  liveness window   ms since its last heartbeat after which a node is dead
  ARGV[2]  pending release   messages of this batch now finished (0: none)
  ARGV[3]  node channel prefix   the node id is appended
  ARGV[4]  broadcast channel
  ARGV[5]  broadcast lines   "" when none
  ARGV[6…] lines             one per destination, aligned with KEYS[4…], "\n"-joined

  Returns the number of destinations no live node holds.
]]
--- @include "live-since"
local oldest = liveSince(KEYS[1], KEYS[3], tonumber(ARGV[1]))
local live = {}
local perNode = {}
local order = {}
local unrouted = 0
for i = 4, #KEYS do
  local lines = ARGV[i + 2]
  local routed = false
  for _, node in ipairs(redis.call("HKEYS", KEYS[i])) do
    local ok = live[node]
    if ok == nil then
      local score = redis.call("ZSCORE", KEYS[1], node)
      ok = score ~= false and score ~= nil and tonumber(score) >= oldest
      live[node] = ok
    end
    if ok then
      routed = true
      local buf = perNode[node]
      if buf == nil then
        buf = {}
        perNode[node] = buf
        table.insert(order, node)
      end
      table.insert(buf, lines)
    end
  end
  if not routed then unrouted = unrouted + 1 end
end
for _, node in ipairs(order) do
  redis.call("PUBLISH", ARGV[3] .. node, table.concat(perNode[node], "\n"))
end
if ARGV[5] ~= "" then redis.call("PUBLISH", ARGV[4], ARGV[5]) end
local release = tonumber(ARGV[2])
if release > 0 then redis.call("DECRBY", KEYS[2], release) end
return unrouted
