/**
 * How long a bulk slice may run before the urgent connection is read again:
 * - 4 ms while urgent deliveries flow (one in the last second): each waits at most that;
 * - 250 ms while bulk payloads publish to topics (broadcasts, topic deliveries): uWS sends
 *   what was published to a topic once per event-loop turn, one write per subscriber, so
 *   short slices mean fewer messages per write. Broadcast frames/s to 1,000 subscribers:
 *   4 ms slices 1.28–1.41M, 100 ms 1.64–1.84M; to 5,000: 50 ms 1.42–1.48M, 200 ms
 *   1.64–1.69M, 250 ms 1.75–1.77M, 1 s 1.92M, handled inline (no inbox) 1.85–1.90M;
 * - 25 ms otherwise (user deliveries only, written once per slice, one cork per socket).
 *   A lone critical message during a drain of user deliveries waited 74–357 ms behind
 *   250 ms slices, 50–74 ms behind 4 ms ones and 72–110 ms behind 25 ms ones (priority
 *   scenario at 0.5 critical/s); 4 ms cost the edge about 10% more CPU per targeted
 *   message (cpu-per-message, two pairs), 25 ms nothing measurable.
 */
export const SHORT_SLICE_MS = 4;
export const LONG_SLICE_MS = 250;
export const USER_SLICE_MS = 25;
/** Urgent deliveries, and bulk publishes, count as flowing for this long after the last one. */
const URGENT_RECENT_MS = 1000;
const PUBLISHING_RECENT_MS = 1000;

/** The next bulk slice's length, from the time since the last urgent delivery and since the last bulk publish (ms). */
export function bulkSliceMs(sinceUrgentMs: number, sinceBulkPublishMs: number): number {
  if (sinceUrgentMs < URGENT_RECENT_MS) return SHORT_SLICE_MS;
  return sinceBulkPublishMs < PUBLISHING_RECENT_MS ? LONG_SLICE_MS : USER_SLICE_MS;
}
