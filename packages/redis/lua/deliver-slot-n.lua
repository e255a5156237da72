--[[
  Cluster layout: the part of a publish that belongs to one slot. Appends each destination's
  deliveries to its channel's history (and a user's critical ones to its unacked hash) and
  returns the nodes that hold each destination, read in the same atomic step: a node
  registered before this runs is returned (the caller publishes to it once it checked the
  node is live), and one that registers after finds the deliveries in history. Every key is
  on one slot (a user's, a topic's, or the broadcast's); the caller publishes.

  KEYS[3i-2…3i]  per destination: its interest hash (a user's presence or a topic's
                 subscribers; unused for a broadcast), its history list, its unacked hash
                 (a user's; unused otherwise)

  ARGV[1]  critical          "1" when the batch is critical (its user deliveries await acks)
  ARGV[2]  unacked cap       most unacknowledged messages kept per user
  ARGV[3]  unacked retention ms an unacknowledged message is kept at most
  ARGV[4…] per destination, as deliver-n.lua's ARGV[11…]: kind ("u", "t", "b"), history
           entries (0: none), history age (ms), count n, then n deliveries of four values:
           line head (unused here, may be ""), frame, message id, expiry

  Returns, per destination in order, the number of nodes holding it then their ids.
]]
--- @include "now-ms"
local critical = ARGV[1] == "1"
local unackedCap = tonumber(ARGV[2])
local unackedRetention = tonumber(ARGV[3])
local now = nil

--- @include "record-history"

local out = {}
local at = 4
local k = 1
while at <= #ARGV do
  local kind, maxEntries, ageMs, n = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local keys = { interest = KEYS[k], history = KEYS[k + 1], unacked = KEYS[k + 2] }
  record(kind, keys, maxEntries, ageMs, at + 4, n)
  if kind == "b" then
    table.insert(out, 0)
  else
    local holders = redis.call("HKEYS", keys.interest)
    table.insert(out, #holders)
    for _, node in ipairs(holders) do table.insert(out, node) end
  end
  at = at + 4 + n * 4
  k = k + 3
end
return out
