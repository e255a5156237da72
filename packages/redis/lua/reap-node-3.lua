--[[
  Removes up to ARGV[4] of a dead node's interests; call again until it returns 0.
  The interest hashes share the prefix's hash tag, so they sit in this script's slot.

  KEYS[1]  nodes zset        the dead node is removed once its indexes are empty
  KEYS[2]  node users set    users the node held connections for
  KEYS[3]  node topics set   topics the node held subscribers for

  ARGV[1]  node id
  ARGV[2]  presence key prefix   user id is appended
  ARGV[3]  topic key prefix      topic name is appended
  ARGV[4]  batch size

  Returns how many interests remain.
]]
local batch = tonumber(ARGV[4])
for _, user in ipairs(redis.call("SPOP", KEYS[2], batch)) do
  redis.call("HDEL", ARGV[2] .. user, ARGV[1])
end
for _, topic in ipairs(redis.call("SPOP", KEYS[3], batch)) do
  redis.call("HDEL", ARGV[3] .. topic, ARGV[1])
end
local left = redis.call("SCARD", KEYS[2]) + redis.call("SCARD", KEYS[3])
if left == 0 then redis.call("ZREM", KEYS[1], ARGV[1]) end
return left
