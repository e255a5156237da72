/** Bounds of the reconnect back-off, in milliseconds. */
export interface Backoff {
  /** The ceiling of the first retry's delay (default 500). */
  initialMs?: number;
  /** The largest delay (default 30,000). */
  maxMs?: number;
}

/**
 * Exponential back-off with full jitter: a delay drawn uniformly from
 * [0, min(maxMs, initialMs × 2^attempt)), so clients dropped together do not come back together.
 * `attempt` counts the failed attempts since the last live connection, from 0.
 */
export function backoffDelay(attempt: number, bounds: Backoff, random: () => number): number {
  const initial = bounds.initialMs ?? 500;
  const max = bounds.maxMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
