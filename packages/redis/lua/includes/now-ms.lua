-- Milliseconds since the epoch at Redis's clock: every liveness score and id is taken from
-- it, so nothing depends on the clocks of the nodes.
local function nowMs()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
