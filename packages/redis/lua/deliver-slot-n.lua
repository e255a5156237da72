--[[
  Cluster layout: the part of a publish that belongs to one slot, or to one master. Appends each destination's
  deliveries to its channel's history (and a user's critical ones to its unacked hash) and
  returns the nodes that hold each destination, read in the same atomic step: a node
  registered before this runs is returned (the caller publishes to it once it checked the
  node is live), and one that registers after finds the deliveries in history. The caller
  publishes.

  Two forms. Per slot: every key is declared in KEYS, all of one slot (a user's, a topic's,
  or the broadcast's). Per master (several slots one master serves, to save a call per
  slot): KEYS holds one key, for routing, and the keys come in ARGV; Redis lets a script
  without flags touch keys of several slots when this node serves them all. Every one is
  checked first (EXISTS on a key this node does not serve, or not entirely: a slot moving,
  is an error), so the call either fails before it writes anything, and the caller falls
  back to per-slot calls, or runs whole.

  KEYS     per slot: per destination three keys, its interest hash (a user's presence or a
           topic's subscribers; unused for a broadcast), its history list, its unacked hash
           (a user's; unused otherwise); per master: one key of this master
  ARGV[1]  n                 per master: how many keys follow (3 per destination, as KEYS
                             would hold them); per slot: 0
  ARGV[2…n+1]                per master: the keys
  then:
  ARGV[+1] critical          "1" when the batch is critical (its user deliveries await acks)
  ARGV[+2] unacked cap       most unacknowledged messages kept per user
  ARGV[+3] unacked retention ms an unacknowledged message is kept at most
  ARGV[+4…] per destination, as deliver-n.lua's ARGV[11…]: kind ("u", "t", "b"), history
           entries (0: none), history age (ms), count n, then n deliveries of four values:
           line head (unused here, may be ""), frame, message id, expiry

  Returns, per destination in order, the number of nodes holding it then their ids.
]]
--- @include "now-ms"
local nk = tonumber(ARGV[1])
local K = KEYS
if nk > 0 then
  K = {}
  for i = 1, nk do
    K[i] = ARGV[1 + i]
    redis.call("EXISTS", K[i])
  end
end
local base = 1 + nk
local critical = ARGV[base + 1] == "1"
local unackedCap = tonumber(ARGV[base + 2])
local unackedRetention = tonumber(ARGV[base + 3])
local now = nil

--- @include "record-history"

local out = {}
local at = base + 4
local k = 1
while at <= #ARGV do
  local kind, maxEntries, ageMs, n = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local keys = { interest = K[k], history = K[k + 1], unacked = K[k + 2] }
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
