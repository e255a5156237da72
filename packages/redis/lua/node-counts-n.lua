--[[
  Cluster layout: one node's counts in the interest hashes of one slot (users' presence,
  topics' subscribers), changed or set, in order. The node's own index (what it holds, for
  reaping once it is dead) is on the node's slot: the caller keeps it in step after this
  call, from the counts returned.

  KEYS[i]    interest hash   node id -> local count
  ARGV[1]    node id
  ARGV[2]    mode            "add": ARGV[i+2] is a delta; "set": it is the count
  ARGV[i+2]  value

  Returns each key's new count (0 once removed), in order.
]]
local node = ARGV[1]
local add = ARGV[2] == "add"
local counts = {}
for i = 1, #KEYS do
  local value = tonumber(ARGV[i + 2])
  local n
  if add then
    n = redis.call("HINCRBY", KEYS[i], node, value)
  else
    n = value
    if n > 0 then redis.call("HSET", KEYS[i], node, n) end
  end
  if n <= 0 then
    redis.call("HDEL", KEYS[i], node)
    n = 0
  end
  counts[i] = n
end
return counts
