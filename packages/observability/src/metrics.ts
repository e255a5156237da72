import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

export { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Latency buckets (seconds) from sub-millisecond fan-out to multi-second backlogs. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A gauge whose value is read when it is scraped. */
export function gaugeReadAtScrape(
  options: { name: string; help: string; registers: Registry[] },
  read: () => number,
): Gauge {
  return new Gauge({
    ...options,
    collect() {
      this.set(read());
    },
  });
}

/** One registry per process, with Node's default process metrics. */
export function createRegistry(role: string, nodeId: string, version: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role, node: nodeId });
  collectDefaultMetrics({ register: registry });
  const info = new Gauge({
    name: "herald_build_info",
    help: "Always 1: the Herald version and the Node.js version this process runs",
    labelNames: ["version", "nodejs"],
    registers: [registry],
  });
  info.set({ version, nodejs: process.version }, 1);
  return registry;
}

/**
 * `herald_queue_waiting{priority}`: read from Redis when scraped, so every edge and
 * worker reports the same cluster-wide figure. A failed read leaves the last value.
 */
export function queueWaitingGauge(registry: Registry, read: () => Promise<Record<string, number>>): Gauge<"priority"> {
  return new Gauge({
    name: "herald_queue_waiting",
    help: "Messages accepted and not yet processed, per priority queue",
    labelNames: ["priority"],
    registers: [registry],
    async collect() {
      try {
        const pending = await read();
        for (const [priority, n] of Object.entries(pending)) this.set({ priority }, n);
      } catch {
        // Redis unreachable at scrape time: keep the last values; readiness reports the outage
      }
    },
  });
}

/**
 * `herald_pending_drift_total{priority}`: times a priority's pending count was read below
 * zero. It never should be: something released messages twice, and until the count is
 * repaired the queue's capacity is not enforced correctly.
 */
export function pendingDriftCounter(registry: Registry): Counter<"priority"> {
  return new Counter({
    name: "herald_pending_drift_total",
    help: "Times a priority's pending count was read below zero (a bug: capacity is not enforced correctly)",
    labelNames: ["priority"],
    registers: [registry],
  });
}
