import {
  type DeadLetterData,
  type DeadLetters,
  type Enqueuer,
  isHeraldJob,
  reserveIds,
  toEnvelope,
} from "@herald/jobs";
import type { Logger } from "@herald/observability";
import { type Envelope, type Priority, parseMessages } from "@herald/protocol";
import type { Keys, RedisBus, RedisRouter, ScriptedRedis } from "@herald/redis";
import { backoffMs } from "./backoff.js";
import { fanOut } from "./fan-out.js";
import type { HandlerRegistry } from "./handler-registry.js";
import type { Ticket } from "./publish-sequencer.js";
import { runHandler } from "./run-handler.js";
import type { WorkerMetrics } from "./worker-metrics.js";

export interface ProcessorOptions {
  handlerTimeoutMs: number;
  /** Attempts per message before it is dead-lettered (the first delivery counts). */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface ProcessorDeps {
  handlers: HandlerRegistry;
  router: RedisRouter;
  bus: RedisBus;
  enqueuer: Enqueuer;
  deadLetters: DeadLetters;
  redis: ScriptedRedis;
  keys: Keys;
  metrics: WorkerMetrics;
  log: Logger;
}

/** A job's messages, ready to process. */
interface Batch {
  messages: Envelope[];
  /** How many count against the pending capacity (released when they finish). */
  counted: number;
}

const NO_CAPACITY_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * Processes one packed job: runs each message's handler (concurrently, each bounded by
 * the timeout), publishes the results in job order, re-enqueues failures with back-off
 * and dead-letters those out of attempts. Handler failures never fail the job, so a
 * message that was delivered is not delivered again; only an infrastructure failure
 * (Redis) fails the job, for BullMQ to retry whole.
 */
export class MessageProcessor {
  constructor(
    private readonly options: ProcessorOptions,
    private readonly deps: ProcessorDeps,
  ) {}

  async process(priority: Priority, data: unknown, jobId: string | undefined, turn: Ticket): Promise<void> {
    const { metrics } = this.deps;
    const started = performance.now();
    let batch: Batch | undefined;
    const failures: { message: Envelope; error: string }[] = [];
    try {
      batch = await this.toBatch(priority, data, jobId);
      const now = Date.now();
      const outcomes = await Promise.all(
        batch.messages.map((m) =>
          m.ttl !== undefined && m.ts + m.ttl * 1000 < now
            ? undefined
            : runHandler(this.deps.handlers.resolve(m.event), m, this.options.handlerTimeoutMs),
        ),
      );
      const out: Envelope[] = [];
      outcomes.forEach((o, i) => {
        const m = batch?.messages[i] as Envelope;
        if (o === undefined) metrics.messages.inc({ priority, outcome: "expired" });
        else if (!o.ok) failures.push({ message: m, error: o.error });
        else if (o.out.length === 0) metrics.messages.inc({ priority, outcome: "dropped" });
        else {
          metrics.messages.inc({ priority, outcome: "delivered" });
          out.push(...o.out);
        }
      });
      const fanned = await turn.run(() => fanOut(out, this.deps.router, this.deps.bus));
      if (fanned.unrouted) metrics.unrouted.inc({ priority }, fanned.unrouted);
    } finally {
      turn.skip();
    }
    const retriedCounted = await this.settleFailures(priority, failures, batch.counted);
    const finished = batch.counted - retriedCounted;
    if (finished > 0) await this.deps.redis.decrby(this.deps.keys.pending(priority), finished);
    metrics.jobSeconds.observe({ priority }, (performance.now() - started) / 1000);
  }

  /** Re-enqueues what has attempts left, dead-letters the rest; returns how many stay counted. */
  private async settleFailures(
    priority: Priority,
    failures: readonly { message: Envelope; error: string }[],
    counted: number,
  ): Promise<number> {
    if (failures.length === 0) return 0;
    const { metrics } = this.deps;
    const byAttempt = new Map<number, Envelope[]>();
    const dead: DeadLetterData[] = [];
    for (const { message, error } of failures) {
      const attempt = (message.attempt ?? 0) + 1;
      if (attempt >= this.options.maxAttempts) {
        dead.push({ message: { ...message, attempt }, error, attempts: attempt, failedAt: Date.now() });
        continue;
      }
      const list = byAttempt.get(attempt) ?? [];
      list.push({ ...message, attempt });
      byAttempt.set(attempt, list);
    }
    let stillCounted = 0;
    let budget = counted;
    for (const [attempt, list] of byAttempt) {
      const c = Math.min(budget, list.length);
      budget -= c;
      stillCounted += c;
      const delay = backoffMs(attempt - 1, this.options.backoffBaseMs, this.options.backoffMaxMs);
      await this.deps.enqueuer.addPacked(priority, list, c, delay);
      metrics.messages.inc({ priority, outcome: "retried" }, list.length);
    }
    if (dead.length) {
      const trimmed = await this.deps.deadLetters.add(dead);
      metrics.messages.inc({ priority, outcome: "dead" }, dead.length);
      if (trimmed) metrics.deadTrimmed.inc(trimmed);
      this.deps.log.warn({ priority, count: dead.length, error: dead[0]?.error }, "messages dead-lettered");
    }
    return stillCounted;
  }

  /** A Herald job as is; a foreign job (another language's BullMQ client) validated and given ids. */
  private async toBatch(priority: Priority, data: unknown, jobId: string | undefined): Promise<Batch> {
    if (isHeraldJob(data)) return { messages: data.messages, counted: data.counted };
    const raw = (data as { messages?: unknown } | null)?.messages;
    const parsed = parseMessages({ messages: raw });
    if (!parsed.ok) {
      this.deps.metrics.messages.inc({ priority, outcome: "invalid" }, Array.isArray(raw) ? raw.length : 1);
      this.deps.log.warn({ jobId, priority, problems: parsed.problems.slice(0, 5) }, "invalid foreign job dropped");
      return { messages: [], counted: 0 };
    }
    const messages = parsed.messages.map((m) => ({ ...m, priority }));
    const r = await reserveIds(
      this.deps.redis,
      this.deps.keys,
      priority,
      messages.map((m) => m.id),
      NO_CAPACITY_LIMIT,
      24 * 3600,
    );
    if (!r.ok) throw new Error("id reservation refused without a capacity limit");
    const now = Date.now();
    const envelopes = messages
      .map((m, i) => (r.duplicates.has(i) ? undefined : toEnvelope(m, r.ids[i] as string, now)))
      .filter((e): e is Envelope => e !== undefined);
    return { messages: envelopes, counted: r.fresh };
  }
}
