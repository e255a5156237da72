import { randomUUID } from "node:crypto";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Logger } from "@herald/observability";
import type { Lane } from "@herald/protocol";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { BulkPacer } from "./bulk-pacer.js";
import type { EdgeBackpressure } from "./edge-backpressure.js";
import { PublishSequencer, type Ticket } from "./publish-sequencer.js";
import type { UrgencyGate } from "./urgency-gate.js";

export interface OrderedConsumerOptions {
  queue: string;
  prefix: string;
  connection: Redis;
  /** Jobs in flight at once. */
  concurrency: number;
  /**
   * How long a job's lock holds without renewal; the consumer renews the locks of its jobs
   * in flight every third of it, so only a job whose worker died loses its lock.
   */
  lockDurationMs: number;
  /** Shared by a worker's consumers: urgent ones enter it per job, bulk ones wait for it to clear. */
  gate: UrgencyGate;
  /** Urgent consumers enter the gate; bulk ones wait for it. Each lane pauses on its own backpressure. */
  lane: Lane;
  /** Shared too: says when the edges reading this lane are too far behind to take more. */
  backpressure: EdgeBackpressure;
  /** Shared by the bulk consumers: rests them while urgent jobs flow (see BulkPacer). */
  pacer: BulkPacer;
}

/**
 * Longest a fetched bulk job waits for urgent jobs in flight before it starts anyway: long
 * enough that, as with no bound, bulk jobs do not start while urgent ones are being processed.
 */
const MAX_BULK_HOLD_MS = 5000;

/**
 * Bulk jobs in flight at once while urgent jobs flow (one entered within URGENT_FLOW_MS).
 * Why: every bulk job in flight is queued work in this event loop, in Redis and on the
 * edge that an urgent job waits behind on a busy machine, and on saturated cores more of
 * them do not drain faster (docs/decisions/lanes.md). With no urgent traffic the configured
 * concurrency applies.
 */
const BULK_CONCURRENCY_WHILE_URGENT = 2;
const URGENT_FLOW_MS = 1000;

/** At most one "queue worker error" line per queue per this long. */
const ERROR_LOG_INTERVAL_MS = 10_000;

export type JobProcessor = (job: Job, ticket: Ticket) => Promise<void>;

/**
 * Takes jobs from one queue with up to `concurrency` in flight, handing each a publish
 * ticket in the order the jobs left the queue.
 *
 * Why not BullMQ's own loop: with concurrency it starts jobs in the order its parallel
 * fetches resolve, which is not queue order (docs/decisions/ordered-consumer.md), and a job's turn to publish must follow queue order for a channel's messages to stay
 * in id order. Here each fetch takes its ticket when it is issued, and fetches go down
 * one connection in that order, so tickets follow queue order; free slots are filled
 * with pipelined fetches (one round trip for several jobs). Handlers run concurrently.
 * BullMQ still does the rest: locks, stalled-job recovery, attempts with back-off on
 * failure, removal on completion.
 */
export class OrderedConsumer {
  private readonly worker: Worker;
  private readonly sequencer = new PublishSequencer();
  private readonly inFlight = new Set<Promise<void>>();
  /** Jobs in flight with the token that locks each, for the renewals. */
  private readonly locks = new Map<Job, string>();
  private renewals: NodeJS.Timeout | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly options: OrderedConsumerOptions,
    private readonly process: JobProcessor,
    private readonly log: Logger,
    private readonly onFailed: (job: Job, err: Error) => void,
  ) {
    this.worker = new Worker(options.queue, null, {
      connection: options.connection,
      prefix: options.prefix,
      lockDuration: options.lockDurationMs,
      autorun: false,
    });
    // While Redis is away BullMQ reports every reconnect attempt: log the first, then at most one a period.
    let lastLog = Number.NEGATIVE_INFINITY;
    let unlogged = 0;
    this.worker.on("error", (err) => {
      const now = Date.now();
      if (now - lastLog < ERROR_LOG_INTERVAL_MS) {
        unlogged++;
        return;
      }
      log.error({ err, queue: options.queue, since: unlogged }, "queue worker error");
      lastLog = now;
      unlogged = 0;
    });
  }

  async start(): Promise<void> {
    await this.worker.waitUntilReady();
    this.renewals = setInterval(() => this.renewLocks(), this.options.lockDurationMs / 3);
    this.renewals.unref();
    this.worker.startStalledCheckTimer().catch((err: unknown) => {
      this.log.error(
        { err, queue: this.options.queue },
        "stalled-job checks stopped: a crashed worker's jobs wait for a restart",
      );
    });
    this.loop = this.run();
  }

  get running(): boolean {
    return this.loop !== undefined && !this.closing;
  }

  private async run(): Promise<void> {
    let drained = false;
    while (!this.closing) {
      const free = this.slots() - this.inFlight.size;
      if (free <= 0) {
        await Promise.race(this.inFlight);
        continue;
      }
      if (this.options.lane === "bulk" && this.options.gate.busy) {
        await this.options.gate.clear(); // urgent work first (see UrgencyGate)
        continue;
      }
      if (this.options.backpressure.isPaused(this.options.lane)) {
        await this.options.backpressure.clear(this.options.lane); // an edge is behind (see EdgeBackpressure)
        continue;
      }
      try {
        if (drained) {
          // The queue was empty: one blocking wait, alone, until a job arrives.
          drained = !(await this.fetch(true));
        } else {
          // Fill every free slot at once: the fetches go down one connection in call order,
          // so the tickets, taken at call time, follow queue order. One round trip for all.
          const got = await Promise.all(Array.from({ length: free }, () => this.fetch(false)));
          drained = got.some((ok) => !ok);
        }
      } catch (err) {
        if (this.closing) break;
        this.log.warn({ err, queue: this.options.queue }, "fetching a job failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** How many jobs may be in flight now: fewer bulk ones while urgent jobs flow. */
  private slots(): number {
    const { lane, gate, concurrency } = this.options;
    if (lane === "bulk" && gate.flowing(URGENT_FLOW_MS)) return Math.min(concurrency, BULK_CONCURRENCY_WHILE_URGENT);
    return concurrency;
  }

  /** Fetches one job and starts it with the ticket taken now; false when the queue had none. */
  private async fetch(block: boolean): Promise<boolean> {
    const ticket = this.sequencer.ticket();
    const token = randomUUID();
    let job: Job | undefined;
    try {
      job = await this.worker.getNextJob(token, { block });
    } catch (err) {
      ticket.skip();
      throw err;
    }
    if (!job) {
      ticket.skip();
      return false;
    }
    this.track(job, token, ticket);
    return true;
  }

  /** Extends the lock of every job in flight (a job that finished meanwhile answers 0: harmless). */
  private renewLocks(): void {
    for (const [job, token] of this.locks) {
      job.extendLock(token, this.options.lockDurationMs).catch((err: unknown) => {
        this.log.warn({ err, jobId: job.id }, "could not renew a job's lock; another worker may take it as stalled");
      });
    }
  }

  private track(job: Job, token: string, ticket: Ticket): void {
    this.locks.set(job, token);
    const urgent = this.options.lane === "urgent";
    const leave = urgent ? this.options.gate.enter() : undefined;
    const done: Promise<void> = (urgent ? this.process(job, ticket) : this.startBulk(job, ticket))
      .then(
        () => job.moveToCompleted(undefined, token, false),
        async (err: Error) => {
          this.onFailed(job, err);
          await job.moveToFailed(err, token, false);
        },
      )
      .then(
        () => undefined,
        (err: unknown) =>
          this.log.error(
            { err, jobId: job.id },
            "could not settle a job (its lock will expire and it will be retried)",
          ),
      )
      .finally(() => {
        leave?.();
        this.locks.delete(job);
        this.inFlight.delete(done);
      });
    this.inFlight.add(done);
  }

  /**
   * A bulk job starts on a later turn of the event loop, while no urgent job is in
   * flight, and once the bulk lane has rested its share (BulkPacer). Why: a pipelined
   * fetch brings several jobs at once, and started together they hold the event loop for
   * tens of milliseconds (parsing, handlers, encoding) while an urgent job's reply waits
   * unread on its own connection. The wait for urgent jobs is
   * bounded: under steady urgent traffic a bulk job would otherwise never start, and the
   * later jobs of its queue wait for its publish turn.
   */
  private async startBulk(job: Job, ticket: Ticket): Promise<void> {
    const { gate, pacer } = this.options;
    await nextTurn();
    await gate.clear(MAX_BULK_HOLD_MS);
    await pacer.turn();
    const started = performance.now();
    await this.process(job, ticket);
    if (gate.flowing(URGENT_FLOW_MS)) pacer.ran(performance.now() - started);
  }

  /** Stops fetching, lets in-flight jobs finish, and closes. Idempotent: every call awaits the same close. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      await Promise.allSettled([...this.inFlight]);
      clearInterval(this.renewals);
      // Our jobs are settled, so nothing is lost by not waiting out the blocking fetch (up to 5 s).
      await this.worker.close(true);
      // The loop ends on its own once closing; a fetch failing meanwhile was logged there.
      await this.loop;
    })();
    return this.closed;
  }
}
