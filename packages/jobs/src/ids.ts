import type { Priority } from "@herald/protocol";
import { idRange } from "@herald/protocol";
import type { Keys, ScriptedRedis } from "@herald/redis";

export type Reservation =
  | {
      ok: true;
      /** One id per message, in batch order (a duplicate gets the id its key was first given). */
      ids: string[];
      /** Batch positions that repeat an idempotency key: not to be enqueued again. */
      duplicates: Set<number>;
      /** New messages, added to the pending count. */
      fresh: number;
      /** Idempotency keys this reservation claimed (to release on rollback). */
      claimedKeys: string[];
    }
  | { ok: false; pending: number };

/** Ids, capacity and idempotency for one batch of one priority, in one script call. */
export async function reserveIds(
  redis: ScriptedRedis,
  keys: Keys,
  priority: Priority,
  idempotencyKeys: readonly (string | undefined)[],
  capacity: number,
  keyTtlSeconds: number,
): Promise<Reservation> {
  const count = idempotencyKeys.length;
  const keyed: string[] = [];
  const positions: number[] = [];
  idempotencyKeys.forEach((k, i) => {
    if (k !== undefined) {
      keyed.push(keys.idempotency(k));
      positions.push(i + 1);
    }
  });
  const scriptKeys = [keys.ids, keys.pending(priority), ...keyed];
  const reply = await redis.heraldReserveIds(
    scriptKeys.length,
    ...scriptKeys,
    count,
    capacity,
    keyTtlSeconds,
    ...positions,
  );
  if (Number(reply[0]) === 0) return { ok: false, pending: Number(reply[1]) };
  const duplicates = new Map<number, string>();
  for (let i = 3; i + 1 < reply.length; i += 2) duplicates.set(Number(reply[i]) - 1, String(reply[i + 1]));
  const fresh = count - duplicates.size;
  const freshIds = idRange(Number(reply[1]), Number(reply[2]), fresh);
  const ids: string[] = new Array(count);
  let next = 0;
  for (let i = 0; i < count; i++) ids[i] = duplicates.get(i) ?? (freshIds[next++] as string);
  const claimedKeys = keyed.filter((_, j) => !duplicates.has((positions[j] as number) - 1));
  return { ok: true, ids, duplicates: new Set(duplicates.keys()), fresh, claimedKeys };
}
