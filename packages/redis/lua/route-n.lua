--[[
  Resolves destinations to the live nodes that hold an interest in them.

  KEYS[1]  nodes zset       node id -> last heartbeat (ms, Redis TIME)
  KEYS[2…] interest hashes  one per destination (a user's presence or a topic's subscribers)

  ARGV[1]  liveness window  ms since its last heartbeat after which a node counts as dead

  Returns one array of node ids per interest hash, in KEYS order.
]]
local t = redis.call("TIME")
local oldest = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
local live = {}
local out = {}
for i = 2, #KEYS do
  local nodes = redis.call("HKEYS", KEYS[i])
  local alive = {}
  for _, node in ipairs(nodes) do
    local ok = live[node]
    if ok == nil then
      local score = redis.call("ZSCORE", KEYS[1], node)
      ok = score ~= false and score ~= nil and tonumber(score) >= oldest
      live[node] = ok
    end
    if ok then table.insert(alive, node) end
  end
  out[i - 1] = alive
end
return out
