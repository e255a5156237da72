--[[
  Takes what the publish kept for a node while its subscription was down
  (includes/keep-missed.lua): reads the list and deletes it in one step, so each payload is
  handed over once.

  KEYS[1]  the node channel's kept payloads (Keys.missedPayloads)

  Returns the payloads, oldest first.
]]
local payloads = redis.call("LRANGE", KEYS[1], 0, -1)
if #payloads > 0 then redis.call("DEL", KEYS[1]) end
return payloads
