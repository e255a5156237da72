--[[
  Cluster layout: the end of a job's publish, on its queue's slot: releases the batch's
  pending count and marks the job published, so the next job of the queue may publish.

  KEYS[1]  pending counter   decremented by ARGV[1]
  KEYS[2]  published zset    the queue's published active jobs; also the sharded channel a
                             job marked published is announced on (on the queue's slot)
  ARGV[1]  pending release   messages now finished (0: none)
  ARGV[2]  job id            "" when the publish took no turn

  Returns 1.
]]
local release = tonumber(ARGV[1])
if release > 0 then redis.call("DECRBY", KEYS[1], release) end
if ARGV[2] ~= "" then
  redis.call("ZADD", KEYS[2], tonumber(ARGV[2]), ARGV[2])
  redis.call("SPUBLISH", KEYS[2], ARGV[2]) -- wakes a job waiting for this one (TurnSignals)
end
return 1
