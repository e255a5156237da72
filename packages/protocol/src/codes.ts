/** Reply error codes a client may see in `{"type":"error","code":…}`. A closed list. */
export const ERROR_CODES = {
  bad_frame: "the frame is not valid JSON, not a known type, or misses a field",
  forbidden: "the token does not allow this channel",
  rate_limited: "too many frames; slow down or be disconnected",
  history_gap:
    "the requested `since` cannot be replayed (older than the history, unknown, or more missed than one replay sends); resynchronise",
  too_many_subscriptions: "the connection holds as many subscriptions as allowed",
  internal: "the server could not complete the request; retry",
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * WebSocket close codes Herald uses, and whether a client should reconnect.
 * A client can choose its behaviour from the code alone.
 */
export const CLOSE_CODES = {
  normal: { code: 1000, reconnect: false, meaning: "closed on purpose" },
  policy: { code: 1008, reconnect: true, meaning: "rate limited: reconnect after a back-off" },
  tooBig: { code: 1009, reconnect: false, meaning: "a frame exceeded HERALD_MAX_FRAME_BYTES" },
  internal: { code: 1011, reconnect: true, meaning: "server error" },
  restart: { code: 1012, reconnect: true, meaning: "node draining: reconnect now, elsewhere" },
  tryAgain: { code: 1013, reconnect: true, meaning: "too slow to read: reconnect, and resynchronise" },
  idle: { code: 4000, reconnect: true, meaning: "idle timeout: reconnect when there is something to do" },
  tokenExpired: { code: 4001, reconnect: true, meaning: "token expired: reconnect with a fresh token" },
} as const;
export type CloseReason = keyof typeof CLOSE_CODES;

export function shouldReconnect(code: number): boolean {
  for (const c of Object.values(CLOSE_CODES)) if (c.code === code) return c.reconnect;
  return true; // abnormal closes (1006 and unknown codes) are network trouble: reconnect
}
