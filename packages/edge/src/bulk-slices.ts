/**
 * How long a bulk slice may run before the urgent lane is read again
 * (docs/decisions/lanes.md has the measurements behind each length):
 * - short while urgent deliveries flow (one in the last second): each waits at most that;
 * - long while bulk payloads publish to topics (broadcasts, topic deliveries): uWS sends
 *   what was published to a topic once per event-loop turn, one write per subscriber, so
 *   short slices mean fewer messages per write;
 * - in between otherwise (user deliveries only, written once per slice, one cork per socket).
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
