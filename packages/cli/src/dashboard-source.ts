import type { DashboardSource } from "@herald/edge";
import { DeadLetters, type Enqueuer } from "@herald/jobs";
import { type Logger, metricsSnapshot, type Registry } from "@herald/observability";
import { type Keys, NodeStats } from "@herald/redis";
import type { Redis } from "ioredis";

/** How often every process publishes its metrics for the dashboard. */
const PUBLISH_MS = 1000;
/** Dead letters the dashboard lists (the oldest). */
const DEAD_LETTERS_SHOWN = 20;

/** The dashboard's data: every live process's published metrics and the dead letters, all from Redis. */
export function dashboardSource(
  deps: { redis: Redis; keys: Keys; enqueuer: Enqueuer },
  deadLetterCapacity: number,
): DashboardSource & { close(): Promise<void> } {
  const stats = new NodeStats(deps.redis, deps.keys);
  const dead = new DeadLetters(deps.redis, deps.keys, deadLetterCapacity);
  return {
    async snapshot() {
      const [nodes, count, latest] = await Promise.all([
        stats.readAll(),
        dead.count(),
        dead.list(0, DEAD_LETTERS_SHOWN - 1),
      ]);
      return { at: Date.now(), nodes, deadLetters: { count, latest } };
    },
    redrive: (entryIds) => dead.retry(deps.enqueuer, entryIds),
    close: () => dead.close(),
  };
}

/**
 * Publishes this process's metrics to Redis every second, for the dashboard; returns the stop.
 * A failed publish (Redis away) is logged at debug: the dashboard shows the process gone.
 */
export function publishStats(
  deps: { redis: Redis; keys: Keys; registry: Registry; log: Logger },
  node: string,
  role: string,
): () => Promise<void> {
  const stats = new NodeStats(deps.redis, deps.keys);
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = metricsSnapshot(deps.registry)
      .then((snapshot) => stats.publish(node, role, snapshot))
      .catch((err: unknown) => deps.log.debug({ err }, "could not publish stats for the dashboard"));
  }, PUBLISH_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
