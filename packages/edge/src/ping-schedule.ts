/**
 * Heartbeat pings, spread out: each connection is pinged once every interval, at a phase of
 * its own taken from its id, so connections opened together are pinged at different times.
 *
 * Why not uWS's own pings (`sendPingsAutomatically`): uWS pings a socket once it has been
 * silent for `idleTimeout`, so clients that connected together (an edge restart, a reconnect
 * storm) are pinged in the same instant, every interval, for as long as they stay, and
 * deliveries around each wave wait behind it (docs/decisions/heartbeat-pings.md).
 */

/** Where in the interval a connection's pings fall (ms), from its id (a UUID: hex up front). */
export function pingPhase(id: string, intervalMs: number): number {
  const n = Number.parseInt(id.slice(0, 8), 16);
  return Number.isNaN(n) ? 0 : n % intervalMs;
}

/** True when a ping at `phase` (repeating every `intervalMs`) falls in (since, now]: once however late the tick. */
export function pingDue(phase: number, since: number, now: number, intervalMs: number): boolean {
  return Math.floor((now - phase) / intervalMs) > Math.floor((since - phase) / intervalMs);
}

/**
 * uWS's idle timeout behind the pings: a socket that received nothing (not even a pong) for
 * this long is dropped. One interval plus margin: the sweep runs every second and uWS
 * counts in 4 s steps.
 */
export function idleTimeoutSeconds(heartbeatSeconds: number): number {
  return heartbeatSeconds + 8;
}
