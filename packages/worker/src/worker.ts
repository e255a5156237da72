import { checkHeraldJob, DeadLetters, type Enqueuer, isHeraldJob, type PendingCount, QUEUE_NAMES } from "@herald/jobs";
import type { Logger, Registry } from "@herald/observability";
import { laneOf, PRIORITIES, type Priority } from "@herald/protocol";
import type { Keys } from "@herald/redis";
import type { Bus } from "@herald/routing";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import { BulkPacer } from "./bulk-pacer.js";
import { EdgeBackpressure } from "./edge-backpressure.js";
import type { HandlerRegistry } from "./handler-registry.js";
import { MessageProcessor, type ProcessorOptions } from "./message-processor.js";
import { OrderedConsumer } from "./ordered-consumer.js";
import { UrgencyGate } from "./urgency-gate.js";
import { WorkerMetrics } from "./worker-metrics.js";

/**
 * How long a job stays locked to its worker without a renewal; locks are renewed every third
 * of it while the job runs. Short, because a queue's later jobs wait for the publish turn of
 * an earlier one while its lock holds: a worker that dies holds up its queue this long at most.
 */
const JOB_LOCK_MS = 15_000;

export interface WorkerOptions extends ProcessorOptions {
  /** Jobs in flight per priority queue. */
  concurrency: number;
  deadLetterCapacity: number;
  /** Fetching a lane pauses while an edge's subscriber has more than this waiting in Redis; 0: never. */
  busBacklogHighWaterBytes: number;
  /** Most of the worker's time bulk jobs may take while urgent jobs flow, in (0, 1]; 1: no limit. */
  bulkShare: number;
}

/** How often workers look at the edges' subscriber buffers. */
const BACKPRESSURE_POLL_MS = 100;
/** At most one "paused" line per this long, however often lanes flap. */
const PAUSE_LOG_INTERVAL_MS = 10_000;

export interface WorkerDeps {
  log: Logger;
  registry: Registry;
  keys: Keys;
  /** Commands: dead letters, the edges' subscriber buffers. */
  redis: Redis;
  bus: Bus;
  enqueuer: Enqueuer;
  pending: PendingCount;
  handlers: HandlerRegistry;
  /** Opens a connection for a BullMQ worker's blocking commands. */
  connectBlocking: (name: string) => Redis;
}

export interface HeraldWorker {
  /** True while every queue's worker is connected and running. */
  ready(): boolean;
  /** Finishes in-flight jobs (unfinished ones return to their queue), then stops. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts one consumer per priority queue, so a critical message is taken the moment it
 * arrives, whatever the backlog of lower priorities.
 */
export async function startWorker(options: WorkerOptions, deps: WorkerDeps): Promise<HeraldWorker> {
  const log = deps.log.child({ component: "worker" });
  const metrics = new WorkerMetrics(deps.registry);
  const deadLetters = new DeadLetters(deps.redis, deps.keys, options.deadLetterCapacity);
  const processor = new MessageProcessor(options, { ...deps, deadLetters, metrics, log });

  // A job that BullMQ gives up on (Redis failing on every attempt) no longer counts as pending.
  const onFailed = (priority: Priority, job: Job, err: Error) => {
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    log.error({ err, priority, jobId: job.id, final }, "job failed");
    if (!final || !isHeraldJob(job.data)) return;
    const { counted } = checkHeraldJob(job.data);
    if (counted === 0) return;
    deps.pending.release(priority, counted).catch((releaseErr: unknown) => {
      log.error({ err: releaseErr, priority, counted }, "could not release a failed job's pending count");
    });
  };

  const gate = new UrgencyGate();
  const pacer = new BulkPacer(options.bulkShare, (ms) => metrics.bulkRestSeconds.inc(ms / 1000));
  const backpressure = watchEdges(deps, options, metrics, log);
  const consumers = PRIORITIES.map(
    (priority) =>
      new OrderedConsumer(
        {
          queue: QUEUE_NAMES[priority],
          prefix: deps.keys.queuePrefix(QUEUE_NAMES[priority]),
          connection: deps.connectBlocking(`worker:${priority}`),
          concurrency: options.concurrency,
          lockDurationMs: JOB_LOCK_MS,
          gate,
          lane: laneOf(priority),
          backpressure,
          pacer,
        },
        (job, ticket) => {
          const waitedMs = Date.now() - job.timestamp - (job.opts.delay ?? 0);
          metrics.queueWaitSeconds.observe({ priority }, Math.max(0, waitedMs) / 1000);
          return processor.process(priority, job, ticket);
        },
        log,
        (job, err) => onFailed(priority, job, err),
      ),
  );
  await Promise.all(consumers.map((c) => c.start()));
  backpressure.start();
  log.info({ queues: PRIORITIES, concurrency: options.concurrency, handlers: deps.handlers.events }, "worker running");

  let closed: Promise<void> | undefined;
  return {
    ready: () => consumers.every((c) => c.running) && deps.redis.status === "ready",
    close: () => {
      closed ??= (async () => {
        backpressure.stop(); // paused consumers wake up and see they are closing
        await Promise.allSettled(consumers.map((c) => c.close()));
        await deadLetters.close();
      })();
      return closed;
    },
  };
}

/** Watches the edges' subscriber buffers, pausing a lane while one is too far behind (see EdgeBackpressure). */
function watchEdges(deps: WorkerDeps, options: WorkerOptions, metrics: WorkerMetrics, log: Logger): EdgeBackpressure {
  let lastPauseLog = 0;
  return new EdgeBackpressure(
    deps.redis,
    deps.keys,
    { highWaterBytes: options.busBacklogHighWaterBytes, pollMs: BACKPRESSURE_POLL_MS },
    log,
    {
      onPoll: (largest) => {
        for (const [lane, bytes] of Object.entries(largest)) metrics.busBacklog.set({ lane }, bytes);
      },
      onChange: (lane, paused, behind) => {
        metrics.lanePaused.set({ lane }, paused ? 1 : 0);
        if (!paused) return;
        metrics.lanePauses.inc({ lane });
        if (Date.now() - lastPauseLog < PAUSE_LOG_INTERVAL_MS) return;
        lastPauseLog = Date.now();
        log.info(
          { lane, behind: behind.map((b) => ({ node: b.nodeId, bytes: b.bytes })) },
          "edges are behind: fetching paused until they catch up",
        );
      },
    },
  );
}
