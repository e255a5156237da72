--[[
  Counts one node's interest in a user (its connections) or a topic (its
  subscribers), keeping the node's own index in step so a dead node can be reaped.

  KEYS[1]  interest hash   node id -> local count (presence of a user, or subscribers of a topic)
  KEYS[2]  node index set  every user or topic this node holds an interest in

  ARGV[1]  node id
  ARGV[2]  member          the user id or topic name, as stored in the index
  ARGV[3]  delta           +1 or -1

  Returns the node's new count (0 once removed).
]]
local n = redis.call("HINCRBY", KEYS[1], ARGV[1], ARGV[3])
if n <= 0 then
  redis.call("HDEL", KEYS[1], ARGV[1])
  redis.call("SREM", KEYS[2], ARGV[2])
  return 0
end
if n == tonumber(ARGV[3]) then
  redis.call("SADD", KEYS[2], ARGV[2])
end
return n
