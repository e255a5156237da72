import { PRIORITIES, type Priority } from "@herald/protocol";
import type { Keys } from "@herald/redis";
import type { Redis } from "ioredis";

/** Messages accepted and not yet finished, per priority: what capacity is enforced against. */
export async function readPending(redis: Redis, keys: Keys): Promise<Record<Priority, number>> {
  const values = await redis.mget(...PRIORITIES.map((p) => keys.pending(p)));
  const out = {} as Record<Priority, number>;
  PRIORITIES.forEach((p, i) => {
    out[p] = Math.max(0, Number(values[i] ?? 0));
  });
  return out;
}
