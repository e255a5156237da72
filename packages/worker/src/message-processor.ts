import {
  checkHeraldJob,
  type DeadLetterData,
  type DeadLetters,
  type Enqueuer,
  type HandlerOutcomes,
  isHeraldJob,
  type MessageJobData,
  type PendingCount,
  toEnvelope,
} from "@herald/jobs";
import type { Logger } from "@herald/observability";
import { type Delivery, type Envelope, type Priority, parseMessages } from "@herald/protocol";
import type { Bus } from "@herald/routing";
import { backoffMs } from "./backoff.js";
import { type Poisoned, publish, toDeliveries } from "./fan-out.js";
import type { HandlerRegistry } from "./handler-registry.js";
import type { Ticket } from "./publish-sequencer.js";
import { type HandlerOutcome, runHandler } from "./run-handler.js";
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
  bus: Bus;
  enqueuer: Enqueuer;
  deadLetters: DeadLetters;
  pending: PendingCount;
  metrics: WorkerMetrics;
  log: Logger;
}

interface Failure {
  message: Envelope;
  error: string;
}

interface FailurePlan {
  retries: { attempt: number; messages: Envelope[]; counted: number }[];
  dead: DeadLetterData[];
  /** Counted messages that stay pending (they go back to the queue as retries). */
  stillCounted: number;
}

/** A job's messages, ready to process. */
interface Batch {
  messages: Envelope[];
  /** How many count against the pending capacity (released when they finish). */
  counted: number;
  /** Present when the handlers already ran on an earlier attempt (see MessageJobData). */
  handled?: HandlerOutcomes | undefined;
  /** Messages of a job in Herald's form that are not messages at all: dead-lettered with their problem. */
  malformed?: { message: unknown; error: string }[];
}

/** A job handled, ready to publish. */
interface Ready {
  deliveries: Delivery[];
  outcomes: HandlerOutcomes;
  /** Messages finished with this job, released from the pending count with its publish. */
  release: number;
}

/** The parts of a BullMQ job the processor uses. */
export interface ProcessedJob {
  id?: string | undefined;
  /** The BullMQ queue the job came from. */
  queueName?: string | undefined;
  data: unknown;
  updateData(data: MessageJobData): Promise<void>;
}

/**
 * Processes one packed job: runs each message's handler (concurrently, each bounded by
 * the timeout), re-enqueues failures with back-off and dead-letters those out of
 * attempts, then publishes the results in job order. Handler failures never fail the
 * job; only an infrastructure failure (Redis) does, for BullMQ to retry it. Nothing is
 * published before the failures are settled, so a failure there repeats no delivery;
 * and a job with failures is written back as handled first, so a retry after a failed
 * publish neither runs its handlers nor re-enqueues its failures again.
 */
export class MessageProcessor {
  constructor(
    private readonly options: ProcessorOptions,
    private readonly deps: ProcessorDeps,
  ) {}

  async process(priority: Priority, job: ProcessedJob, turn: Ticket): Promise<void> {
    const started = performance.now();
    let ready: Ready;
    try {
      ready = await this.handle(priority, job);
    } catch (err) {
      turn.skip(); // a ticket taken is settled on every path, or every later job of the queue waits
      throw err;
    }
    // Publishing and releasing the finished messages from the pending count are one step.
    const batch = { priority, release: ready.release, job: publishTurnOf(job) };
    const outcome = await publish(ready.deliveries, this.deps.bus, turn, batch);
    const { metrics } = this.deps;
    if (outcome.unrouted) metrics.unrouted.inc({ priority }, outcome.unrouted);
    if (outcome.kept) metrics.unroutedKept.inc({ priority }, outcome.kept);
    // Counted once published: a job that fails before that is retried and counted then.
    for (const [outcome, n] of Object.entries(ready.outcomes)) if (n) metrics.messages.inc({ priority, outcome }, n);
    metrics.jobSeconds.observe({ priority }, (performance.now() - started) / 1000);
  }

  /**
   * A job's messages through their handlers and encoded; failures settled (re-enqueued or
   * dead-lettered, with the messages that cannot be delivered at all) and, if there were
   * any, the job written back as handled. A job handled on an earlier attempt is only encoded.
   */
  private async handle(priority: Priority, job: ProcessedJob): Promise<Ready> {
    const batch = await this.toBatch(priority, job);
    if (batch.handled) {
      // Stored once encodable; a message that no longer is (a forged job) is dropped, never thrown.
      const { deliveries } = toDeliveries(batch.messages);
      return { deliveries, outcomes: batch.handled, release: batch.counted };
    }
    const { out, failures, outcomes } = await this.runHandlers(batch.messages);
    const { deliveries, kept, poisoned } = toDeliveries(out);
    outcomes.delivered = Math.max(0, outcomes.delivered - poisoned.length);
    const plan = this.planFailures(failures, batch.counted, [...poisoned, ...this.malformed(batch)]);
    const release = batch.counted - plan.stillCounted;
    if (failures.length || plan.dead.length) {
      await this.settleFailures(priority, plan);
      await job.updateData({ v: 1, messages: kept, counted: release, handled: outcomes });
    }
    return { deliveries, outcomes, release };
  }

  /** A Herald-form job's malformed messages, as dead letters-to-be. */
  private malformed(batch: Batch): Poisoned[] {
    return (batch.malformed ?? []).map(({ message, error }) => ({ message: message as Envelope, error }));
  }

  /**
   * Runs every message's handler concurrently (expired messages are dropped), keeping
   * message order. A message without a handler passes through without a promise.
   */
  private async runHandlers(
    messages: readonly Envelope[],
  ): Promise<{ out: Envelope[]; failures: Failure[]; outcomes: HandlerOutcomes }> {
    const now = Date.now();
    const slots: (Envelope | Promise<HandlerOutcome> | undefined)[] = new Array(messages.length);
    let async = false;
    messages.forEach((m, i) => {
      if (m.ttl !== undefined && m.ts + m.ttl * 1000 < now) return; // expired: stays undefined
      const handler = this.deps.handlers.resolve(m.event);
      if (!handler) slots[i] = m;
      else {
        slots[i] = runHandler(handler, m, this.options.handlerTimeoutMs);
        async = true;
      }
    });
    const settled = async ? await Promise.all(slots) : (slots as (Envelope | HandlerOutcome | undefined)[]);
    const out: Envelope[] = [];
    const failures: Failure[] = [];
    const counts: HandlerOutcomes = { delivered: 0, dropped: 0, expired: 0 };
    settled.forEach((o, i) => {
      if (o === undefined) counts.expired++;
      else if (!("ok" in o)) {
        counts.delivered++;
        out.push(o);
      } else if (!o.ok) failures.push({ message: messages[i] as Envelope, error: o.error });
      else if (o.out.length === 0) counts.dropped++;
      else {
        counts.delivered++;
        out.push(...o.out);
      }
    });
    return { out, failures, outcomes: counts };
  }

  /**
   * Splits failures into retries (grouped by attempt, each with its share of the counted
   * messages) and dead letters; `undeliverable` messages go to the dead letters at once, as
   * another attempt would fail the same way.
   */
  private planFailures(failures: readonly Failure[], counted: number, undeliverable: readonly Poisoned[]): FailurePlan {
    const retries = new Map<number, Envelope[]>();
    const dead: DeadLetterData[] = undeliverable.map(({ message, error }) => {
      const attempts = (typeof message?.attempt === "number" ? message.attempt : 0) + 1;
      return { message, error, attempts, failedAt: Date.now() };
    });
    for (const { message, error } of failures) {
      const attempt = (message.attempt ?? 0) + 1;
      if (attempt >= this.options.maxAttempts) {
        dead.push({ message: { ...message, attempt }, error, attempts: attempt, failedAt: Date.now() });
        continue;
      }
      const list = retries.get(attempt) ?? [];
      list.push({ ...message, attempt });
      retries.set(attempt, list);
    }
    const groups: FailurePlan["retries"] = [];
    let budget = counted;
    for (const [attempt, messages] of retries) {
      const c = Math.min(budget, messages.length);
      budget -= c;
      groups.push({ attempt, messages, counted: c });
    }
    return { retries: groups, dead, stillCounted: counted - budget };
  }

  /** Re-enqueues retries with back-off and dead-letters the rest. */
  private async settleFailures(priority: Priority, plan: FailurePlan): Promise<void> {
    const { metrics } = this.deps;
    for (const { attempt, messages, counted } of plan.retries) {
      const delay = backoffMs(attempt - 1, this.options.backoffBaseMs, this.options.backoffMaxMs);
      await this.deps.enqueuer.addPacked(priority, messages, counted, delay);
      metrics.messages.inc({ priority, outcome: "retried" }, messages.length);
    }
    if (plan.dead.length) {
      const trimmed = await this.deps.deadLetters.add(plan.dead);
      metrics.messages.inc({ priority, outcome: "dead" }, plan.dead.length);
      if (trimmed) metrics.deadTrimmed.inc(trimmed);
      this.deps.log.warn({ priority, count: plan.dead.length, error: plan.dead[0]?.error }, "messages dead-lettered");
    }
  }

  /**
   * A Herald job as is; a foreign job (another language's BullMQ client) validated, given
   * ids, and written back in Herald's form before anything is published: if the job fails
   * later (Redis lost mid-publish) BullMQ retries it, and the retry must find the ids and
   * the pending count already taken. Reserved again, each message would count twice against
   * the capacity for good, and one with an idempotency key would find its own first
   * reservation and be dropped as a duplicate. (A crash between the reservation and the
   * write-back still reserves twice: one round trip's window.)
   */
  private async toBatch(priority: Priority, job: ProcessedJob): Promise<Batch> {
    const { data } = job;
    if (isHeraldJob(data)) return checkHeraldJob(data);
    const raw = (data as { messages?: unknown } | null)?.messages;
    const parsed = parseMessages({ messages: raw });
    if (!parsed.ok) {
      this.deps.metrics.messages.inc({ priority, outcome: "invalid" }, Array.isArray(raw) ? raw.length : 1);
      this.deps.log.warn(
        { jobId: job.id, priority, problems: parsed.problems.slice(0, 5) },
        "invalid foreign job dropped",
      );
      return { messages: [], counted: 0 };
    }
    const messages = parsed.messages.map((m) => ({ ...m, priority }));
    const r = await this.deps.pending.adopt(
      priority,
      messages.map((m) => m.id),
    );
    const now = Date.now();
    const envelopes = messages
      .map((m, i) => (r.duplicates.has(i) ? undefined : toEnvelope(m, r.ids[i] as string, now)))
      .filter((e): e is Envelope => e !== undefined);
    const batch: MessageJobData = { v: 1, messages: envelopes, counted: r.fresh };
    try {
      await job.updateData(batch);
    } catch (err) {
      // Still a foreign job: its retry adopts it again, so this adoption must not stay counted.
      const unused = [{ priority, fresh: r.fresh, claimedKeys: r.claimedKeys }];
      await this.deps.pending.rollback(unused).catch((rollbackErr: unknown) => {
        this.deps.log.error({ err: rollbackErr, jobId: job.id }, "could not give back a foreign job's reservation");
      });
      throw err;
    }
    return batch;
  }
}

/**
 * The job's place in its queue's publish order: BullMQ numbers the jobs it creates in
 * queue order; a job given its own id by another client takes no turn (its order is not kept).
 */
function publishTurnOf(job: ProcessedJob): { queue: string; id: string } | undefined {
  if (job.queueName === undefined || job.id === undefined || !/^[0-9]{1,15}$/.test(job.id)) return undefined;
  return { queue: job.queueName, id: job.id };
}
