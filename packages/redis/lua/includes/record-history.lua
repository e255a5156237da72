-- Appends deliveries to a channel's history (and a user's critical ones to its unacked hash).
-- The including script declares `critical`, `unackedCap`, `unackedRetention` and `now` first.
--
-- The cheapest bounds that keep the promise, as every append is on the hot path: a list is
-- trimmed back to its count once it holds a quarter more (one LTRIM per several appends),
-- and expires whole one age after its last append; an entry older than the age within a
-- busier list is not replayed (its "aged at" has passed) but is no longer trimmed one by one.

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
    if length > maxEntries + math.max(1, math.floor(maxEntries / 4)) then
      redis.call("LTRIM", keys.history, -maxEntries, -1)
    end
    redis.call("PEXPIRE", keys.history, ageMs)
  end
  return lines
end
