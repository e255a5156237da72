-- The oldest heartbeat that still counts as live. Normally the liveness window back from the
-- newest heartbeat of any node (not from now: when Redis itself stalled, the silence every
-- node shared makes no one dead). For one window after a stall (a node found itself silent
-- past the window: Redis was paused or out of reach of every node), every registered node
-- counts as live, so that none is skipped before it had the chance to beat again.
local function liveSince(nodesKey, stallKey, window)
  if redis.call("EXISTS", stallKey) == 1 then return -math.huge end
  local newest = redis.call("ZREVRANGE", nodesKey, 0, 0, "WITHSCORES")[2]
  return (newest and tonumber(newest) or 0) - window
end
