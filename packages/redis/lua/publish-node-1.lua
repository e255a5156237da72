--[[
  Cluster layout: publishes one payload on a node's sharded channel, keeping it for the node
  when no subscriber took it (includes/keep-missed.lua), for holders a deliver-slot-n.lua call
  could not publish to itself.

  KEYS[1]  the channel's kept payloads (Keys.missedPayloads: the channel's name and ":missed",
           on the channel's slot)
  ARGV[1]  the channel
  ARGV[2]  the payload

  Returns 1.
]]
--- @include "keep-missed"
publishOrKeep("SPUBLISH", ARGV[1], ARGV[2])
return 1
