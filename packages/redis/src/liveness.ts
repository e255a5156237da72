/** A node counts as dead when its last heartbeat (at Redis's clock) is older than this. */
export const NODE_LIVENESS_MS = 30_000;

/** Milliseconds since the epoch from a Redis TIME reply (the clock every heartbeat is scored by). */
export function redisTimeMs([seconds, micros]: readonly (string | number)[]): number {
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
