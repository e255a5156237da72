--[[
  Sets one node's interests in users and topics to the given counts, overwriting whatever
  Redis holds (the node's own view, after Redis lost or reaped them); keeps the node's index
  in step. Idempotent: the same call twice leaves the same state.

  For entry i (1-based):
  KEYS[2i-1]  interest hash   node id -> local count (presence of a user, or subscribers of a topic)
  KEYS[2i]    node index set  every user or topic this node holds an interest in
  ARGV[2i]    member          the user id or topic name, as stored in the index
  ARGV[2i+1]  count           the node's count (0 removes the interest)
  ARGV[1]     node id

  Returns the number of entries set.
]]
local node = ARGV[1]
local n = #KEYS / 2
for i = 1, n do
  local hash, index = KEYS[2 * i - 1], KEYS[2 * i]
  local member, count = ARGV[2 * i], tonumber(ARGV[2 * i + 1])
  if count > 0 then
    redis.call("HSET", hash, node, count)
    redis.call("SADD", index, member)
  else
    redis.call("HDEL", hash, node)
    redis.call("SREM", index, member)
  end
end
return n
