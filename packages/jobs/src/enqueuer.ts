import { type Envelope, type Message, PRIORITIES, type Priority } from "@herald/protocol";
import type { Keys, ScriptedRedis } from "@herald/redis";
import { Queue } from "bullmq";
import { reserveIds } from "./ids.js";
import { MESSAGE_JOB, type MessageJobData, QUEUE_NAMES } from "./queues.js";

export interface EnqueuerOptions {
  /** Most pending messages per priority; adds beyond it are refused whole. */
  capacity: number;
  /** Most messages packed into one BullMQ job. */
  maxMessagesPerJob: number;
}

/**
 * Messages packed into one job unless configured otherwise (SDK `maxBatch`, `HERALD_BATCH_SIZE`).
 * Every job costs the same BullMQ work (add, fetch, complete) however many messages it holds,
 * so bigger packs are cheaper under load: 250 a job delivered 50.5–52.6k/s where 100 a job
 * delivered 43.3–46.5k (60,000/s offered to 1,000 users, three alternating pairs). But bigger
 * low-priority jobs hold critical messages up: behind a 100,000 low backlog, eight
 * alternating pairs of the priority scenario measured critical p99 medians of 75 vs 50 ms,
 * p50 7–9 vs 5–8 ms (docs/performance.md, "Pack size"). The default keeps latency.
 */
export const DEFAULT_MESSAGES_PER_JOB = 100;

/** How long an idempotency key is remembered (SPEC: the same key within 24 h is delivered once). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export type EnqueueResult =
  | { ok: true; ids: string[]; duplicates: number }
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

/**
 * Accepts messages into the priority queues: gives them ordered ids, enforces each
 * queue's capacity and idempotency keys, and packs them into jobs.
 * All or nothing: if any priority's queue is full, nothing of the call is enqueued.
 * Order: messages of one priority keep their order, within the call and call after call.
 */
export class Enqueuer {
  private readonly queues = new Map<Priority, Queue>();

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly options: EnqueuerOptions,
  ) {}

  /**
   * The queue of a priority, created on first use: BullMQ checks the server once, at
   * construction, and a queue built while a fail-fast connection is still down stays broken.
   */
  queue(priority: Priority): Queue {
    let queue = this.queues.get(priority);
    if (!queue) {
      queue = new Queue(QUEUE_NAMES[priority], {
        connection: this.redis,
        prefix: this.keys.tag,
        skipWaitingForReady: true,
        defaultJobOptions: MESSAGE_JOB_OPTIONS,
      });
      // Connection trouble reaches callers as a rejected add; the event would only repeat it.
      queue.on("error", () => undefined);
      this.queues.set(priority, queue);
    }
    return queue;
  }

  async enqueue(messages: readonly Message[], now = Date.now()): Promise<EnqueueResult> {
    const groups = new Map<Priority, number[]>();
    messages.forEach((m, i) => {
      const g = groups.get(m.priority);
      if (g) g.push(i);
      else groups.set(m.priority, [i]);
    });

    const ids: string[] = new Array(messages.length);
    const undo: { priority: Priority; fresh: number; claimedKeys: string[] }[] = [];
    const batches: { priority: Priority; envelopes: Envelope[] }[] = [];
    let duplicates = 0;
    try {
      for (const priority of PRIORITIES) {
        const positions = groups.get(priority);
        if (!positions) continue;
        const r = await reserveIds(
          this.redis,
          this.keys,
          priority,
          positions.map((i) => (messages[i] as Message).id),
          this.options.capacity,
          IDEMPOTENCY_TTL_SECONDS,
        );
        if (!r.ok) {
          await this.rollback(undo);
          return { ok: false, reason: "full", priority, pending: r.pending };
        }
        undo.push({ priority, fresh: r.fresh, claimedKeys: r.claimedKeys });
        duplicates += r.duplicates.size;
        const envelopes: Envelope[] = [];
        positions.forEach((index, j) => {
          const id = r.ids[j] as string;
          ids[index] = id;
          if (!r.duplicates.has(j)) envelopes.push(toEnvelope(messages[index] as Message, id, now));
        });
        batches.push({ priority, envelopes });
      }
      for (const { priority, envelopes } of batches) {
        await this.addPacked(priority, envelopes, envelopes.length);
        // Added: these messages are really queued now, so a later failure must not un-count them.
        undo.splice(
          undo.findIndex((u) => u.priority === priority),
          1,
        );
      }
    } catch (err) {
      await this.rollback(undo).catch(() => undefined);
      throw err;
    }
    return { ok: true, ids, duplicates };
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
    await this.redis.incrby(this.keys.pending(message.priority), 1);
    await this.addPacked(message.priority, [message], 1);
  }

  private async rollback(undo: { priority: Priority; fresh: number; claimedKeys: string[] }[]): Promise<void> {
    if (undo.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const u of undo) {
      if (u.fresh) pipe.decrby(this.keys.pending(u.priority), u.fresh);
      if (u.claimedKeys.length) pipe.del(...u.claimedKeys);
    }
    await pipe.exec();
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
  }
}

export function toEnvelope(m: Message, id: string, ts: number): Envelope {
  const e: Envelope = { id, to: m.to, event: m.event, data: m.data ?? null, priority: m.priority, ts };
  if (m.ttl !== undefined) e.ttl = m.ttl;
  if (m.id !== undefined) e.key = m.id;
  return e;
}
