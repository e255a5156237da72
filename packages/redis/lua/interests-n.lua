--[[
  Counts one node's interests in users (its connections) and topics (its
  subscribers), many changes at once, applied in order; keeps the node's own
  index in step so a dead node can be reaped.

  For change i (1-based):
  KEYS[2i-1]  interest hash   node id -> local count (presence of a user, or subscribers of a topic)
  KEYS[2i]    node index set  every user or topic this node holds an interest in
  ARGV[2i]    member          the user id or topic name, as stored in the index
  ARGV[2i+1]  delta           +1 or -1
  ARGV[1]     node id

  Returns each change's new count (0 once removed), in order.
]]
local node = ARGV[1]
local counts = {}
for i = 1, #KEYS / 2 do
  local hash, index = KEYS[2 * i - 1], KEYS[2 * i]
  local member, delta = ARGV[2 * i], tonumber(ARGV[2 * i + 1])
  local n = redis.call("HINCRBY", hash, node, delta)
  if n <= 0 then
    redis.call("HDEL", hash, node)
    redis.call("SREM", index, member)
    n = 0
  elseif n == delta then
    redis.call("SADD", index, member)
  end
  counts[i] = n
end
return counts
