-- Appends deliveries to a channel's history (and a user's critical ones to its unacked hash).
-- The including script declares `critical`, `unackedCap`, `unackedRetention` and `now` first.
-- Drops the entries at the head of a history that are older than the channel's age.
local function trimAged(key, now)
  for _ = 1, 100 do
    local head = redis.call("LINDEX", key, 0)
    if not head then return end
    local tab = string.find(head, "\t", 1, true)
    local agedAt = tonumber(string.sub(head, tab + 1, string.find(head, "\t", tab + 1, true) - 1))
    if agedAt >= now then return end
    redis.call("LPOP", key)
  end
end

-- Keeps a user's critical message until acknowledged, its ttl ends, or the retention passes;
-- a full hash first drops the entries past their deadline.
local function keepUnacked(key, id, expires, frame, now)
  local deadline = now + unackedRetention
  if expires > 0 and expires < deadline then deadline = expires end
  if redis.call("HLEN", key) >= unackedCap then
    local all = redis.call("HGETALL", key)
    for i = 1, #all, 2 do
      local d = tonumber(string.sub(all[i + 1], 1, string.find(all[i + 1], "\t", 1, true) - 1))
      if d < now then redis.call("HDEL", key, all[i]) end
    end
    if redis.call("HLEN", key) >= unackedCap then return end
  end
  redis.call("HSET", key, id, deadline .. "\t" .. frame)
  if redis.call("PTTL", key) < unackedRetention then redis.call("PEXPIRE", key, unackedRetention) end
end

-- Appends one destination's deliveries to its history and unacked hash; returns their lines.
local function record(kind, keys, maxEntries, ageMs, at, n)
  local lines = {}
  local length = 0
  local acked = critical and kind == "u" and unackedCap > 0
  if maxEntries > 0 or acked then now = now or nowMs() end
  for j = 0, n - 1 do
    local base = at + j * 4
    local head, frame, id, expires = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
    if maxEntries > 0 and id ~= "" then
      length = redis.call("RPUSH", keys.history, id .. "\t" .. (now + ageMs) .. "\t" .. expires .. "\t" .. frame)
    end
    if acked and id ~= "" then keepUnacked(keys.unacked, id, tonumber(expires), frame, now) end
    lines[j + 1] = head .. frame
  end
  if maxEntries > 0 then
    if length > maxEntries then redis.call("LTRIM", keys.history, -maxEntries, -1) end
    if length > 1 then trimAged(keys.history, now) end
    redis.call("PEXPIRE", keys.history, ageMs)
  end
  return lines
end
