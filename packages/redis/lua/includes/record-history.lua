-- Appends deliveries to a channel's history (and a user's critical ones to its unacked hash).
-- The including script declares `critical`, `unackedCap`, `unackedRetention` and `now` first.
-- Drops the entries at the head of a history that are past their replay time.
local function trimAged(key, now)
  for _ = 1, 100 do
    local head = redis.call("LINDEX", key, 0)
    if not head then return end
    local tab = string.find(head, "\t", 1, true)
    local untilMs = tonumber(string.sub(head, tab + 1, string.find(head, "\t", tab + 1, true) - 1))
    if untilMs >= now then return end
    redis.call("LPOP", key)
  end
end

-- Appends one destination's deliveries to its history and unacked hash; returns their lines.
local function record(kind, keys, maxEntries, ageMs, at, n)
  local lines = {}
  if maxEntries > 0 then now = now or nowMs() end
  for j = 0, n - 1 do
    local base = at + j * 4
    local head, frame, id, expires = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
    if maxEntries > 0 and id ~= "" then
      local untilMs = now + ageMs
      local ttlEnd = tonumber(expires)
      if ttlEnd > 0 and ttlEnd < untilMs then untilMs = ttlEnd end
      redis.call("RPUSH", keys.history, id .. "\t" .. untilMs .. "\t" .. frame)
    end
    if critical and kind == "u" and id ~= "" and redis.call("HLEN", keys.unacked) < unackedCap then
      redis.call("HSET", keys.unacked, id, expires .. "\t" .. frame)
      redis.call("PEXPIRE", keys.unacked, unackedRetention)
    end
    lines[j + 1] = head .. frame
  end
  if maxEntries > 0 then
    redis.call("LTRIM", keys.history, -maxEntries, -1)
    trimAged(keys.history, now)
    redis.call("PEXPIRE", keys.history, ageMs)
  end
  return lines
end
