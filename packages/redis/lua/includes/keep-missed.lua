-- Publishes a node's payload on its channel; when no subscriber took it (the node's
-- subscription is down for a moment: Redis restarted, or the connection is coming back), keeps
-- it in the list named after the channel and ":missed" (Keys.missedPayloads), which the node
-- takes when it has subscribed again (MissedPayloads), so a connection it held throughout
-- still gets it, in order. Bounded: the newest MISSED_MAX payloads, for MISSED_TTL_MS (past
-- the node expiry, after which a node that has not come back is reaped).
local MISSED_MAX = 1000
local MISSED_TTL_MS = 60000
local function publishOrKeep(command, channel, payload)
  if redis.call(command, channel, payload) > 0 then return end
  local key = channel .. ":missed"
  if redis.call("RPUSH", key, payload) > MISSED_MAX then redis.call("LTRIM", key, -MISSED_MAX, -1) end
  redis.call("PEXPIRE", key, MISSED_TTL_MS)
end
