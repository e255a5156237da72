import { DeadLetters, type Enqueuer, isHeraldJob, QUEUE_NAMES } from "@herald/jobs";
import type { Logger, Registry } from "@herald/observability";
import { PRIORITIES, type Priority } from "@herald/protocol";
import { type Keys, laneOf, type RedisBus, type ScriptedRedis } from "@herald/redis";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import type { HandlerRegistry } from "./handler-registry.js";
import { MessageProcessor, type ProcessorOptions } from "./message-processor.js";
import { OrderedConsumer } from "./ordered-consumer.js";
import { UrgencyGate } from "./urgency-gate.js";
import { WorkerMetrics } from "./worker-metrics.js";

export interface WorkerOptions extends ProcessorOptions {
  /** Jobs in flight per priority queue. */
  concurrency: number;
  deadLetterCapacity: number;
}

export interface WorkerDeps {
  log: Logger;
  registry: Registry;
  keys: Keys;
  /** Commands: scripts, counters, dead letters. */
  redis: ScriptedRedis;
  bus: RedisBus;
  enqueuer: Enqueuer;
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
    if (final && isHeraldJob(job.data) && job.data.counted > 0) {
      deps.redis.decrby(deps.keys.pending(priority), job.data.counted).catch(() => undefined);
    }
  };

  const gate = new UrgencyGate();
  const consumers = PRIORITIES.map(
    (priority) =>
      new OrderedConsumer(
        {
          queue: QUEUE_NAMES[priority],
          prefix: deps.keys.tag,
          connection: deps.connectBlocking(`worker:${priority}`),
          concurrency: options.concurrency,
          lockDurationMs: options.handlerTimeoutMs + 60_000,
          gate,
          urgent: laneOf(priority) === "urgent",
        },
        (job, ticket) => processor.process(priority, job.data, job.id, ticket),
        log,
        (job, err) => onFailed(priority, job, err),
      ),
  );
  await Promise.all(consumers.map((c) => c.start()));
  log.info({ queues: PRIORITIES, concurrency: options.concurrency, handlers: deps.handlers.events }, "worker running");

  let closed: Promise<void> | undefined;
  return {
    ready: () => consumers.every((c) => c.running) && deps.redis.status === "ready",
    close: () => {
      closed ??= (async () => {
        await Promise.allSettled(consumers.map((c) => c.close()));
        await deadLetters.close();
      })();
      return closed;
    },
  };
}
