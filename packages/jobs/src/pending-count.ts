import { PRIORITIES, type Priority } from "@herald/protocol";
import { type Keys, ScriptCalls, type ScriptedRedis } from "@herald/redis";

/** How long an idempotency key is remembered (the same key within 24 h is delivered once). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export type Reservation =
  | {
      ok: true;
      /** One id per message, in batch order (a duplicate gets the id its key was first given). */
      ids: string[];
      /** Batch positions that repeat an idempotency key: not to be enqueued again. */
      duplicates: Set<number>;
      /** New messages, added to the pending count. */
      fresh: number;
      /** Idempotency keys this reservation claimed (released if it is rolled back). */
      claimedKeys: string[];
    }
  | { ok: false; pending: number };

/** A reservation whose messages were not enqueued after all, to give back. */
export interface Unused {
  priority: Priority;
  fresh: number;
  claimedKeys: string[];
}

/** Called when a priority's count is read below zero: a bug somewhere, to log and count. */
export type DriftReport = (priority: Priority, value: number) => void;

/**
 * The one owner of the per-priority count of messages accepted and not yet finished: what
 * `HERALD_QUEUE_CAPACITY` is enforced against and `herald_queue_waiting` reports.
 *
 * It goes up when messages are accepted (`reserve`, atomically with their ids, the capacity
 * check and their idempotency keys), when a foreign job is adopted (`adopt`, no capacity
 * check: the job is already queued) and when a dead letter is re-driven (`redrive`). It goes
 * down when a finished batch is published (in the same Lua step as the publish:
 * `DeliveryBatch.release`, counted by the processor from what a job's `counted` says), when
 * BullMQ gives up on a job (`release`), and when a reservation is not used (`rollback`).
 * Nothing else changes it. A count read below zero is a bug: it is reported (logged and
 * counted by the caller), never clamped, since a clamp would hide the drift that disables
 * the capacity limit.
 */
export class PendingCount {
  private readonly scripts: ScriptCalls;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {
    this.scripts = new ScriptCalls(redis, keys);
  }

  /** Ids, capacity and idempotency for one batch of one priority, in one script call. */
  async reserve(
    priority: Priority,
    idempotencyKeys: readonly (string | undefined)[],
    capacity: number,
  ): Promise<Reservation> {
    const reply = await this.scripts.reserveIds(priority, idempotencyKeys, capacity, IDEMPOTENCY_TTL_SECONDS);
    if (!reply.ok) return reply;
    const count = idempotencyKeys.length;
    const { freshIds } = reply;
    const fresh = freshIds.length;
    const ids: string[] = new Array(count);
    let next = 0;
    const claimedKeys: string[] = [];
    for (let i = 0; i < count; i++) {
      ids[i] = reply.duplicates.get(i) ?? (freshIds[next++] as string);
      const key = idempotencyKeys[i];
      if (key !== undefined && !reply.duplicates.has(i)) claimedKeys.push(this.keys.idempotency(key, priority));
    }
    return { ok: true, ids, duplicates: new Set(reply.duplicates.keys()), fresh, claimedKeys };
  }

  /** Counts the messages of a job that was queued without a reservation (another language's client). */
  async adopt(priority: Priority, idempotencyKeys: readonly (string | undefined)[]) {
    const r = await this.reserve(priority, idempotencyKeys, Number.MAX_SAFE_INTEGER);
    if (!r.ok) throw new Error("an id reservation without a capacity limit was refused");
    return r;
  }

  /** Gives back reservations whose messages were not enqueued. */
  async rollback(unused: readonly Unused[]): Promise<void> {
    if (unused.length === 0) return;
    // The cluster layout's keys sit on several slots, which one pipeline cannot span.
    if (this.keys.cluster) {
      await Promise.all(unused.flatMap((u) => this.rollbackOne(u)));
      return;
    }
    const pipe = this.redis.pipeline();
    for (const u of unused) {
      if (u.fresh) pipe.decrby(this.keys.pending(u.priority), u.fresh);
      if (u.claimedKeys.length) pipe.del(...u.claimedKeys);
    }
    const replies = await pipe.exec();
    if (!replies) throw new Error("the rollback pipeline was aborted");
    const failed = replies.find(([err]) => err)?.[0];
    if (failed) throw failed;
  }

  /** One reservation given back, one command per key (its keys share its priority's slot). */
  private rollbackOne(u: Unused): Promise<unknown>[] {
    const calls: Promise<unknown>[] = [];
    if (u.fresh) calls.push(this.redis.decrby(this.keys.pending(u.priority), u.fresh));
    if (u.claimedKeys.length) calls.push(this.redis.del(...u.claimedKeys));
    return calls;
  }

  /** Messages finished without a publish (a job BullMQ gave up on). */
  async release(priority: Priority, n: number): Promise<void> {
    if (n > 0) await this.redis.decrby(this.keys.pending(priority), n);
  }

  /** Messages accepted again (a dead letter re-driven into its queue). */
  async redrive(priority: Priority, n: number): Promise<void> {
    if (n > 0) await this.redis.incrby(this.keys.pending(priority), n);
  }

  /** Every priority's count, cluster-wide. A negative one is reported to `onDrift` and returned as it is. */
  async read(onDrift: DriftReport): Promise<Record<Priority, number>> {
    const keys = PRIORITIES.map((p) => this.keys.pending(p));
    // The cluster layout keeps each count on its queue's slot: one GET each.
    const values = this.keys.cluster
      ? await Promise.all(keys.map((k) => this.redis.get(k)))
      : await this.redis.mget(...keys);
    const out = {} as Record<Priority, number>;
    PRIORITIES.forEach((p, i) => {
      const n = Number(values[i] ?? 0);
      if (!(n >= 0)) onDrift(p, n); // below zero, or not a number at all
      out[p] = n;
    });
    return out;
  }
}
