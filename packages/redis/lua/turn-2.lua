--[[
  Cluster layout: a job's publish turn, on its queue's slot (see includes/publish-turn.lua).
  A job that passed it publishes in calls of its own and then marks itself published
  (publish-done-2.lua): until then the later jobs of the queue keep waiting.

  KEYS[1]  active list       the queue's active jobs (BullMQ)
  KEYS[2]  published zset    the queue's published active jobs
  ARGV[1]  job id
  ARGV[2]  lock prefix       a job's lock key is this, its id and ":lock"
  ARGV[3…] job ids not to wait for: lower jobs the calling process publishes itself, whose
           calls it issues before this job's on the same connections (so they stay in order)

  Returns the id of the job to wait for, or "" when it is this job's turn.
]]
--- @include "publish-turn"
local skip = {}
for i = 3, #ARGV do skip[ARGV[i]] = true end
return blockedBy(KEYS[1], KEYS[2], ARGV[2], ARGV[1], skip) or ""
