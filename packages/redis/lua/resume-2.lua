--[[
  What a connection must be sent when it (re)joins a channel: the user's unacknowledged
  critical messages, and the channel's history after the message the client saw last.

  KEYS[1]  history list     the channel's, "<id>\t<aged at>\t<expires>\t<frame>" oldest first
  KEYS[2]  unacked hash     the user's, id -> "<deadline>\t<frame>" (read only when ARGV[3] is "1")

  ARGV[1]  since            the id of the last message the client saw ("": no replay)
  ARGV[2]  limit            most entries replayed at once
  ARGV[3]  unacked          "1": also return the unacked messages

  Returns {status, u, (id, "deadline\tframe") × u, (id, replay until, frame) × rest}
    status 0: no replay asked; 1: replay follows; 2: gap, `since` is not in the history
    (trimmed, lost with Redis's data, or never in this channel); 3: gap, more than `limit`
    entries follow it. "Replay until" is the earlier of the entry's age and its ttl: the
    caller skips entries past it, which still mark where a client stands.
    A message appended twice (a publish repeated after a lost reply) is found at its first
    place, so nothing published between the two copies is skipped.
]]
local reply = {0, 0}
if ARGV[3] == "1" then
  local all = redis.call("HGETALL", KEYS[2])
  reply[2] = #all / 2
  for _, v in ipairs(all) do table.insert(reply, v) end
end
if ARGV[1] == "" then return reply end

local limit = tonumber(ARGV[2])
local entries = redis.call("LRANGE", KEYS[1], 0, -1)
local prefix = ARGV[1] .. "\t"
local found = nil
for i = 1, #entries do
  if string.sub(entries[i], 1, #prefix) == prefix then
    found = i
    break
  end
end
if found == nil then
  reply[1] = 2
  return reply
end
if #entries - found > limit then
  reply[1] = 3
  return reply
end
reply[1] = 1
for i = found + 1, #entries do
  local e = entries[i]
  local t1 = string.find(e, "\t", 1, true)
  local t2 = string.find(e, "\t", t1 + 1, true)
  local t3 = string.find(e, "\t", t2 + 1, true)
  local agedAt = tonumber(string.sub(e, t1 + 1, t2 - 1))
  local expires = tonumber(string.sub(e, t2 + 1, t3 - 1))
  if expires == 0 or expires > agedAt then expires = agedAt end
  table.insert(reply, string.sub(e, 1, t1 - 1))
  table.insert(reply, expires)
  table.insert(reply, string.sub(e, t3 + 1))
end
return reply
