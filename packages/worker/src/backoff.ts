/**
 * Exponential back-off with "equal jitter": half the step is fixed, half random, so
 * retries of a burst of failures spread out instead of arriving together.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const step = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(step / 2 + random() * (step / 2));
}
