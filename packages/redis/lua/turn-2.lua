--[[
  Whether a job may publish now (see includes/publish-turn.lua): what a job that was refused
  its turn asks while it waits, without sending its deliveries again.

  KEYS[1]  active list       the queue's active jobs (BullMQ)
  KEYS[2]  published zset    the queue's published active jobs

  ARGV[1]  lock prefix       a job's lock key is this, its id and ":lock"
  ARGV[2]  job id

  Returns the id of the job to wait for, or false (nil) when the turn has come.
]]
--- @include "publish-turn"
return blockedBy(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
