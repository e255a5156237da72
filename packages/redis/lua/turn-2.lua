--[[
  Whether a job may publish now (see includes/publish-turn.lua): what a job that was refused
  its turn asks while it waits, without sending its deliveries again; and, in the cluster
  layout, every job's turn, on its queue's slot, before its per-master calls (it then marks
  itself published with publish-done-2.lua: until then the later jobs of the queue wait).

  KEYS[1]  active list       the queue's active jobs (BullMQ)
  KEYS[2]  published zset    the queue's published active jobs

  ARGV[1]  lock prefix       a job's lock key is this, its id and ":lock"
  ARGV[2]  job id
  ARGV[3…] job ids not to wait for (optional): lower jobs the calling process publishes
           itself, whose calls it issues before this job's on the same connections

  Returns the id of the job to wait for, or false (nil) when the turn has come.
]]
--- @include "publish-turn"
local skip = {}
for i = 3, #ARGV do skip[ARGV[i]] = true end
return blockedBy(KEYS[1], KEYS[2], ARGV[1], ARGV[2], skip)
