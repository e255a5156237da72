--[[
  Publishes one batch of deliveries: each destination's deliveries are appended to its
  channel's history and sent to the live nodes that hold that user or topic, one PUBLISH per node; broadcasts go to the broadcast channel. History,
  routing and publishing are one atomic step: a node registered before this runs gets the
  batch live (or, when its subscription is down for a moment, kept for it: see
  includes/keep-missed.lua), and one that registers after finds it in history. Critical deliveries to a
  user are also kept until acknowledged. Releases the batch's pending count.

  With a publish turn (ARGV[10] holds "c"), nothing happens while a lower job of the queue
  is unpublished (see includes/publish-turn.lua); the caller retries.

  KEYS[1]  nodes zset        node id -> last heartbeat (ms)
  KEYS[2]  pending counter   decremented by ARGV[2]
  KEYS[3]  stall marker      see includes/live-since.lua
  KEYS[4]  active list       the queue's active jobs (BullMQ), for the publish turn
  KEYS[5]  published zset    the queue's published active jobs, for the publish turn; also
                             the channel a job marked published is announced on
  KEYS[6…] per destination, three keys: its interest hash (a user's presence or a topic's
           subscribers; unused for a broadcast), its history stream, its unacked hash
           (a user's; unused otherwise)

  A history is a list of "<id>\t<aged at>\t<expires>\t<frame>", oldest first: a list, not a
  stream, as a stream costs about 4 KB per key and most channels hold a few entries
  (docs/decisions/history-and-order.md). An entry is replayed until it is older than the
  channel's age ("aged at", ms) and until its message's ttl ends ("expires", 0 for none); it
  stays past either, until trimmed by count or the list expires, to mark where a client stands
  (see includes/record-history.lua).
  A user's unacked hash maps an id to "<deadline>\t<frame>": the earlier of the ttl's end and
  the retention; past its deadline an entry is neither re-sent nor counted against the cap.

  ARGV[1]  liveness window   ms since its last heartbeat after which a node is dead
  ARGV[2]  pending release   messages of this batch now finished (0: none)
  ARGV[3]  node channel prefix   the node id is appended
  ARGV[4]  broadcast channel
  ARGV[5]  critical          "1" when the batch is critical (its user deliveries await acks)
  ARGV[6]  unacked cap       most unacknowledged messages kept per user
  ARGV[7]  unacked retention ms an unacknowledged message is kept at most
  ARGV[8]  job id            the job publishing, for the publish turn ("" for none)
  ARGV[9]  lock prefix       a job's lock key is this, its id and ":lock"
  ARGV[10] turn              "c": wait for the turn (the job's first call), "m": mark the
                             job published (its last call), "cm" both, "" neither
  ARGV[11…] per destination: kind ("u" user, "t" topic, "b" broadcast), history entries
           (0: none), history age (ms), count n, then n deliveries of four values:
           line head (up to the frame), frame, message id ("" for none), expiry (ms since
           the epoch, 0 for none)

  Returns {unrouted, kept}: destinations no live node holds whose deliveries no history
  keeps, and those kept in history; or {-1, jobId} when the job must wait for that job.
]]
--- @include "now-ms"
--- @include "live-since"
--- @include "publish-turn"
--- @include "keep-missed"
if string.find(ARGV[10], "c", 1, true) then
  local blocker = blockedBy(KEYS[4], KEYS[5], ARGV[9], ARGV[8])
  if blocker ~= nil then return {-1, blocker} end
end

local critical = ARGV[5] == "1"
local unackedCap = tonumber(ARGV[6])
local unackedRetention = tonumber(ARGV[7])
local now = nil

--- @include "record-history"

local oldest = liveSince(KEYS[1], KEYS[3], tonumber(ARGV[1]))
local live = {}
local perNode = {}
local order = {}
local broadcasts = {}
local unrouted = 0
local kept = 0

-- Adds a destination's payload to every live node that holds it; false when none does.
local function route(interestKey, payload)
  local routed = false
  for _, node in ipairs(redis.call("HKEYS", interestKey)) do
    local ok = live[node]
    if ok == nil then
      local score = redis.call("ZSCORE", KEYS[1], node)
      ok = score ~= false and score ~= nil and tonumber(score) >= oldest
      live[node] = ok
    end
    if ok then
      routed = true
      local buf = perNode[node]
      if buf == nil then
        buf = {}
        perNode[node] = buf
        table.insert(order, node)
      end
      table.insert(buf, payload)
    end
  end
  return routed
end

local at = 11
local k = 6
while at <= #ARGV do
  local kind, maxEntries, ageMs, n = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local keys = { interest = KEYS[k], history = KEYS[k + 1], unacked = KEYS[k + 2] }
  local payload = table.concat(record(kind, keys, maxEntries, ageMs, at + 4, n), "\n")
  if kind == "b" then
    table.insert(broadcasts, payload)
  elseif not route(keys.interest, payload) then
    if maxEntries > 0 then kept = kept + 1 else unrouted = unrouted + 1 end
  end
  at = at + 4 + n * 4
  k = k + 3
end
for _, node in ipairs(order) do
  publishOrKeep("PUBLISH", ARGV[3] .. node, table.concat(perNode[node], "\n"))
end
if #broadcasts > 0 then redis.call("PUBLISH", ARGV[4], table.concat(broadcasts, "\n")) end
local release = tonumber(ARGV[2])
if release > 0 then redis.call("DECRBY", KEYS[2], release) end
if string.find(ARGV[10], "m", 1, true) then
  redis.call("ZADD", KEYS[5], tonumber(ARGV[8]), ARGV[8])
  redis.call("PUBLISH", KEYS[5], ARGV[8]) -- wakes a job waiting for this one (TurnSignals)
end
return {unrouted, kept}
