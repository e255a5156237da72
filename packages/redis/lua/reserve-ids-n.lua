--[[
  Reserves ordered message ids for one batch, enforces the queue's capacity and
  deduplicates idempotency keys, atomically.

  KEYS[1]  ids hash        {ms, seq}: the last id handed out
  KEYS[2]  pending counter messages accepted and not yet finished, for this priority
  KEYS[3…] idempotency keys, one per message that carries a key

  ARGV[1]  count           messages in the batch
  ARGV[2]  capacity        most pending messages allowed for this priority
  ARGV[3]  key ttl         seconds an idempotency key is remembered
  ARGV[4]  sequence base   the first sequence number of each millisecond this counter owns
  ARGV[5]  sequence span   how many it owns (the whole space, 36^4, when one counter serves
                           every priority; a quarter each when every priority has its own)
  ARGV[6…] positions       1-based position in the batch of the message owning KEYS[3…]

  Returns {status, a, b, dupPos1, dupId1, dupPos2, dupId2, …}
    status 1:  accepted; (a, b) = (ms, seq) of the first new id, seq counted from the
               base; new messages take consecutive ids in batch order (rolling into the
               next millisecond past the span); duplicates are listed with the id they
               were first given.
    status 0:  queue full; a = pending now. Nothing was changed.
]]
--- @include "now-ms"
local count = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local keyTtl = tonumber(ARGV[3])
local SEQ_BASE = tonumber(ARGV[4])
local SEQ_SPAN = tonumber(ARGV[5])
local nkeys = #KEYS - 2

local function base36(n, width)
  local digits = "0123456789abcdefghijklmnopqrstuvwxyz"
  local s = ""
  while n > 0 do
    local d = n % 36
    s = string.sub(digits, d + 1, d + 1) .. s
    n = (n - d) / 36
  end
  return string.rep("0", width - #s) .. s
end

-- Pass 1: which keyed messages are duplicates (of history, or of an earlier message in this batch).
local dupOf = {}    -- position -> existing id, or position of the first holder of the key in this batch
local firstAt = {}  -- key -> position
for i = 1, nkeys do
  local key = KEYS[i + 2]
  local pos = tonumber(ARGV[i + 5])
  local existing = redis.call("GET", key)
  if existing then
    dupOf[pos] = existing
  elseif firstAt[key] then
    dupOf[pos] = firstAt[key]
  else
    firstAt[key] = pos
  end
end
local dups = 0
for _ in pairs(dupOf) do dups = dups + 1 end
local fresh = count - dups

local pending = tonumber(redis.call("GET", KEYS[2]) or "0")
if fresh > 0 and pending + fresh > capacity then
  return {0, pending, 0}
end

-- Pass 2: hand out ids in batch order.
local now = nowMs()
local last = redis.call("HMGET", KEYS[1], "ms", "seq")
local ms, seq = now, 0
if last[1] and tonumber(last[1]) >= now then
  ms = tonumber(last[1])
  seq = tonumber(last[2]) + 1
end
local function idAt(offset)
  local s = seq + offset
  return base36(ms + math.floor(s / SEQ_SPAN), 9) .. base36(SEQ_BASE + s % SEQ_SPAN, 4)
end

local out = {1, ms, seq}
local offsetOf = {}
local offset = 0
for pos = 1, count do
  if dupOf[pos] == nil then
    offsetOf[pos] = offset
    offset = offset + 1
  end
end
for i = 1, nkeys do
  local key = KEYS[i + 2]
  local pos = tonumber(ARGV[i + 5])
  local d = dupOf[pos]
  if d == nil then
    redis.call("SET", key, idAt(offsetOf[pos]), "EX", keyTtl)
  else
    if type(d) == "number" then d = idAt(offsetOf[d]) end
    table.insert(out, pos)
    table.insert(out, d)
  end
end

if fresh > 0 then
  local endSeq = seq + fresh - 1
  redis.call("HSET", KEYS[1], "ms", ms + math.floor(endSeq / SEQ_SPAN), "seq", endSeq % SEQ_SPAN)
  redis.call("INCRBY", KEYS[2], fresh)
end
return out
