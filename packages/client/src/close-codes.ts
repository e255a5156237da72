/**
 * What to do after a close, from its code alone (docs/protocol.md, "Close codes"):
 * - `stop`: do not reconnect (1000 closed on purpose, 1009 a frame was too big: it would be refused again);
 * - `now`: reconnect at once (1012: the edge is draining; another takes over);
 * - `token`: reconnect at once with a fresh token (4001: the token expired);
 * - `backoff`: reconnect after a back-off (1008, 1011, 1013, 4000, and 1006 or any unknown code: network trouble).
 */
export type CloseDecision = "stop" | "now" | "token" | "backoff";

export function closeDecision(code: number): CloseDecision {
  if (code === 1000 || code === 1009) return "stop";
  if (code === 1012) return "now";
  if (code === 4001) return "token";
  return "backoff";
}
