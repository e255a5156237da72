--[[
  Cluster layout: the part of a publish that belongs to one master (or one slot). Appends
  each destination's deliveries to its channel's history (and a user's critical ones to its
  unacked hash), reads the nodes that hold it, and publishes to the live ones, in one atomic
  step as deliver-n.lua does: a node registered before this runs gets the deliveries live
  (or kept for it while its subscription is down: includes/keep-missed.lua; the list shares
  the channel's slot), and one that registers after finds them in history.

  A node's deliveries go on one of its channels that this master serves (an edge subscribes
  to one channel per range of slots, so that every master serves some): the caller passes,
  per live node, the channel to use here. A holder the caller did not pass (not known live,
  or no channel of its on this master) is returned for the caller to publish to, once it has
  checked the node is live.

  Two forms of keys. Per slot: every key is declared in KEYS, all of one slot. Per master:
  KEYS holds one key, for routing, and the keys come in ARGV; Redis lets a script without
  flags touch keys and channels of several slots when this node serves them all. Every key
  and channel is checked first (EXISTS on a name this node does not serve, or not entirely: a
  slot moving, is an error), so the call either fails before it writes anything, and the
  caller falls back to per-slot calls without publishing, or runs whole.

  KEYS     per slot: per destination three keys, its interest hash (a user's presence or a
           topic's subscribers; unused for a broadcast), its history list, its unacked hash
           (a user's; unused otherwise); per master: one key of this master
  ARGV[1]  nk                per master: how many keys follow (3 per destination, as KEYS
                             would hold them); per slot: 0
  ARGV[2…nk+1]               per master: the keys
  then, from b = nk + 1:
  ARGV[b+1] critical          "1" when the batch is critical (its user deliveries await acks)
  ARGV[b+2] unacked cap       most unacknowledged messages kept per user
  ARGV[b+3] unacked retention ms an unacknowledged message is kept at most
  ARGV[b+4] broadcast channel "" when this call does not publish broadcasts
  ARGV[b+5] L                 live nodes passed, then L pairs: node id, its channel here
  then per destination, as deliver-n.lua's ARGV[11…]: kind ("u", "t", "b"), history
           entries (0: none), history age (ms), count n, then n deliveries of four values:
           line head (up to the frame), frame, message id, expiry

  Returns, per destination in order: 1 when it was published to a node (or broadcast), else
  0; then the number of holders not published to, and their ids.
]]
--- @include "now-ms"
--- @include "keep-missed"
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
local broadcastChannel = ARGV[base + 4]
local channelOf = {}
local live = tonumber(ARGV[base + 5])
for i = 1, live do
  local channel = ARGV[base + 5 + 2 * i]
  if nk > 0 then redis.call("EXISTS", channel) end
  channelOf[ARGV[base + 4 + 2 * i]] = channel
end
if nk > 0 and broadcastChannel ~= "" then redis.call("EXISTS", broadcastChannel) end
local now = nil

--- @include "record-history"

local out = {}
local perNode = {}
local order = {}
local broadcasts = {}
local at = base + 6 + 2 * live
local k = 1
while at <= #ARGV do
  local kind, maxEntries, ageMs, n = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local keys = { interest = K[k], history = K[k + 1], unacked = K[k + 2] }
  local payload = table.concat(record(kind, keys, maxEntries, ageMs, at + 4, n), "\n")
  local published = 0
  local others = {}
  if kind == "b" then
    if broadcastChannel ~= "" then
      table.insert(broadcasts, payload)
      published = 1
    end
  else
    for _, node in ipairs(redis.call("HKEYS", keys.interest)) do
      if channelOf[node] then
        published = 1
        if perNode[node] == nil then
          perNode[node] = {}
          table.insert(order, node)
        end
        table.insert(perNode[node], payload)
      else
        table.insert(others, node)
      end
    end
  end
  table.insert(out, published)
  table.insert(out, #others)
  for _, node in ipairs(others) do table.insert(out, node) end
  at = at + 4 + n * 4
  k = k + 3
end
for _, node in ipairs(order) do
  publishOrKeep("SPUBLISH", channelOf[node], table.concat(perNode[node], "\n"))
end
if #broadcasts > 0 then redis.call("SPUBLISH", broadcastChannel, table.concat(broadcasts, "\n")) end
return out
