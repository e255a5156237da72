-- Whether a job may publish now: only once no lower-numbered job of its queue is still
-- active, locked (its worker alive) and unpublished. Jobs leave a queue in id order, so a
-- lower active job was taken first; waiting for it keeps the queue's publishes, and so each
-- producer's messages, in acceptance order across any number of worker processes. A job
-- whose lock lapsed (its worker died) is not waited for. Markers of published jobs below
-- every active job are trimmed here. `skip` (optional): a set of job ids not to wait for (the
-- caller's own, whose publishes it orders itself). Returns the id of the job to wait for, or nil.
local function blockedBy(activeKey, publishedKey, lockPrefix, jobId, skip)
  local me = tonumber(jobId)
  local lowest = me
  local blocker = nil
  for _, id in ipairs(redis.call("LRANGE", activeKey, 0, -1)) do
    local n = tonumber(id)
    if n ~= nil and n < me then
      if n < lowest then lowest = n end
      if blocker == nil and not (skip and skip[id]) and redis.call("ZSCORE", publishedKey, id) == false
        and redis.call("EXISTS", lockPrefix .. id .. ":lock") == 1 then
        blocker = id
      end
    end
  end
  redis.call("ZREMRANGEBYSCORE", publishedKey, "-inf", "(" .. lowest)
  return blocker
end
