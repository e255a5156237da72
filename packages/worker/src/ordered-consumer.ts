import { randomUUID } from "node:crypto";
import type { Logger } from "@herald/observability";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { PublishSequencer, type Ticket } from "./publish-sequencer.js";

export interface OrderedConsumerOptions {
  queue: string;
  prefix: string;
  connection: Redis;
  /** Jobs in flight at once. */
  concurrency: number;
  /** Longest a job may run before another worker may take it as stalled. */
  lockDurationMs: number;
}

export type JobProcessor = (job: Job, ticket: Ticket) => Promise<void>;

/**
 * Takes jobs from one queue with up to `concurrency` in flight, handing each a publish
 * ticket in the order the jobs left the queue.
 *
 * Why not BullMQ's own loop: with concurrency it starts jobs in the order its parallel
 * fetches resolve, which is not queue order (measured: 20 of 300 jobs started early),
 * and a job's turn to publish must follow queue order for a channel's messages to stay
 * in id order. Here one loop fetches one job at a time, so fetch order is queue order;
 * handlers still run concurrently. BullMQ still does the rest: locks, stalled-job
 * recovery, attempts with back-off on failure, removal on completion.
 */
export class OrderedConsumer {
  private readonly worker: Worker;
  private readonly sequencer = new PublishSequencer();
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;
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
    this.worker.on("error", (err) => log.error({ err, queue: options.queue }, "queue worker error"));
  }

  async start(): Promise<void> {
    await this.worker.waitUntilReady();
    void this.worker.startStalledCheckTimer();
    this.loop = this.run();
  }

  get running(): boolean {
    return this.loop !== undefined && !this.closing;
  }

  private async run(): Promise<void> {
    while (!this.closing) {
      if (this.inFlight.size >= this.options.concurrency) {
        await Promise.race(this.inFlight);
        continue;
      }
      const token = randomUUID();
      let job: Job | undefined;
      try {
        job = await this.worker.getNextJob(token, { block: true });
      } catch (err) {
        if (this.closing) break;
        this.log.warn({ err, queue: this.options.queue }, "fetching a job failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!job) continue;
      this.track(job, token, this.sequencer.ticket());
    }
  }

  private track(job: Job, token: string, ticket: Ticket): void {
    const done: Promise<void> = this.process(job, ticket)
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
      .finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  /** Stops fetching, lets in-flight jobs finish, and closes. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.allSettled([...this.inFlight]);
    await this.worker.close();
    await this.loop?.catch(() => undefined);
  }
}
