import { type Envelope, HeraldError, type Message, PRIORITIES, type Priority } from "@herald/protocol";
import type { Keys } from "@herald/redis";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { PendingCount, Unused } from "./pending-count.js";
import { reportedByCommands } from "./queue-errors.js";
import { MESSAGE_JOB, type MessageJobData, QUEUE_NAMES } from "./queues.js";

export interface EnqueuerOptions {
  /** Most pending messages per priority; adds beyond it are refused whole. */
  capacity: number;
  /** Most messages packed into one BullMQ job. */
  maxMessagesPerJob: number;
}

export interface EnqueuerDeps {
  /** Commands; BullMQ's queues use it too. */
  redis: Redis;
  keys: Keys;
  pending: PendingCount;
}

/**
 * Messages packed into one job unless configured otherwise (SDK `maxBatch`, `HERALD_BATCH_SIZE`):
 * bigger packs cost less per message under load but hold critical messages up behind a low
 * backlog; the default keeps latency (docs/decisions/pack-size.md).
 */
export const DEFAULT_MESSAGES_PER_JOB = 100;

export type EnqueueResult =
  | { ok: true; ids: string[] }
  | { ok: false; reason: "full"; priority: Priority; pending: number };

/** BullMQ options every packed message job gets. */
export const MESSAGE_JOB_OPTIONS = {
  // Infrastructure failures (Redis down mid-publish) retry the whole job; handler
  // failures are retried per message by the worker and never fail the job.
  attempts: 5,
  backoff: { type: "exponential", delay: 200 },
  removeOnComplete: true,
  removeOnFail: { count: 1000 },
} as const;

/** One priority's share of an enqueue call, reserved and ready to add. */
interface Reserved extends Unused {
  envelopes: Envelope[];
}

/**
 * Accepts messages into the priority queues: gives them ordered ids, enforces each
 * queue's capacity and idempotency keys (through PendingCount), and packs them into jobs.
 * All or nothing: if any priority's queue is full, nothing of the call is enqueued.
 * Order: messages of one priority keep their order, within the call and call after call.
 */
export class Enqueuer {
  private readonly queues = new Map<Priority, Queue>();
  private closed: Promise<void> | undefined;

  constructor(
    private readonly deps: EnqueuerDeps,
    private readonly options: EnqueuerOptions,
  ) {}

  /**
   * The queue of a priority, created on first use: BullMQ checks the server once, at
   * construction, and a queue built while a fail-fast connection is still down stays broken.
   */
  queue(priority: Priority): Queue {
    if (this.closed) throw new HeraldError("closed", "the enqueuer is closed");
    let queue = this.queues.get(priority);
    if (!queue) {
      queue = new Queue(QUEUE_NAMES[priority], {
        connection: this.deps.redis,
        prefix: this.deps.keys.queuePrefix(QUEUE_NAMES[priority]),
        skipWaitingForReady: true,
        defaultJobOptions: MESSAGE_JOB_OPTIONS,
      });
      queue.on("error", reportedByCommands);
      this.queues.set(priority, queue);
    }
    return queue;
  }

  async enqueue(messages: readonly Message[], now = Date.now()): Promise<EnqueueResult> {
    const ids: string[] = new Array(messages.length);
    const reserved: Reserved[] = [];
    try {
      for (const [priority, positions] of byPriority(messages)) {
        const r = await this.deps.pending.reserve(
          priority,
          positions.map((i) => (messages[i] as Message).id),
          this.options.capacity,
        );
        if (!r.ok) {
          // Taken out of `reserved` first: if giving them back fails, the catch below must not give them back again.
          await this.deps.pending.rollback(reserved.splice(0));
          return { ok: false, reason: "full", priority, pending: r.pending };
        }
        const envelopes: Envelope[] = [];
        positions.forEach((index, j) => {
          ids[index] = r.ids[j] as string;
          if (!r.duplicates.has(j)) envelopes.push(toEnvelope(messages[index] as Message, ids[index], now));
        });
        reserved.push({ priority, fresh: r.fresh, claimedKeys: r.claimedKeys, envelopes });
      }
      await this.addReserved(reserved);
    } catch (err) {
      await this.deps.pending.rollback(reserved).catch((rollbackErr: unknown) => {
        throw new AggregateError([err, rollbackErr], "enqueue failed, and so did giving its reservation back");
      });
      throw err;
    }
    return { ok: true, ids };
  }

  /** Adds each priority's envelopes; an added one is queued for good, so it leaves `reserved` (no rollback). */
  private async addReserved(reserved: Reserved[]): Promise<void> {
    while (reserved.length) {
      const { priority, envelopes } = reserved[0] as Reserved;
      await this.addPacked(priority, envelopes, envelopes.length);
      reserved.shift();
    }
  }

  /** Adds already-accepted envelopes as packed jobs, in order. */
  async addPacked(priority: Priority, envelopes: readonly Envelope[], counted: number, delayMs = 0): Promise<void> {
    if (envelopes.length === 0) return;
    const size = this.options.maxMessagesPerJob;
    const jobs: { name: string; data: MessageJobData; opts?: { delay: number } }[] = [];
    let left = counted;
    for (let i = 0; i < envelopes.length; i += size) {
      const chunk = envelopes.slice(i, i + size);
      const c = Math.min(left, chunk.length);
      left -= c;
      jobs.push({
        name: MESSAGE_JOB,
        data: { v: 1, messages: chunk, counted: c },
        ...(delayMs ? { opts: { delay: delayMs } } : {}),
      });
    }
    await this.queue(priority).addBulk(jobs);
  }

  /** Puts one already-accepted message back into its queue (a dead letter re-driven), counted as pending. */
  async redrive(message: Envelope): Promise<void> {
    await this.deps.pending.redrive(message.priority, 1);
    try {
      await this.addPacked(message.priority, [message], 1);
    } catch (err) {
      await this.deps.pending.release(message.priority, 1).catch((releaseErr: unknown) => {
        throw new AggregateError([err, releaseErr], "re-drive failed, and so did giving its count back");
      });
      throw err;
    }
  }

  /** Closes the queues it opened. Idempotent: every call awaits the same close; rejects if a queue failed to close. */
  close(): Promise<void> {
    this.closed ??= Promise.allSettled([...this.queues.values()].map((q) => q.close())).then((results) => {
      const failed = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
      if (failed.length) throw new AggregateError(failed, "a queue did not close");
    });
    return this.closed;
  }
}

/** Message positions grouped by priority, most urgent first. */
function byPriority(messages: readonly Message[]): [Priority, number[]][] {
  const groups = new Map<Priority, number[]>();
  messages.forEach((m, i) => {
    const g = groups.get(m.priority);
    if (g) g.push(i);
    else groups.set(m.priority, [i]);
  });
  return PRIORITIES.filter((p) => groups.has(p)).map((p) => [p, groups.get(p) as number[]]);
}

export function toEnvelope(m: Message, id: string, ts: number): Envelope {
  const e: Envelope = { id, to: m.to, event: m.event, data: m.data ?? null, priority: m.priority, ts };
  if (m.ttl !== undefined) e.ttl = m.ttl;
  if (m.id !== undefined) e.key = m.id;
  return e;
}
