import type { Registry } from "prom-client";

/** One sample: its labels (without the process's default ones) and value. */
export interface SnapshotSample {
  labels: Record<string, string | number>;
  value: number;
}

/** A process's Herald metrics (and a few of Node's) at one moment, compact enough to publish every second. */
export interface MetricsSnapshot {
  /** Metric name (a histogram's `_bucket`, `_sum`, `_count` series by their own names) -> samples. */
  metrics: Record<string, SnapshotSample[]>;
}

const NODE_METRICS = new Set(["process_resident_memory_bytes", "nodejs_eventloop_lag_p99_seconds"]);

/** Reads `registry` (collecting its gauges read at scrape) into a snapshot of its `herald_*` metrics. */
export async function metricsSnapshot(registry: Registry): Promise<MetricsSnapshot> {
  const metrics: MetricsSnapshot["metrics"] = {};
  for (const m of await registry.getMetricsAsJSON()) {
    if (!m.name.startsWith("herald_") && !NODE_METRICS.has(m.name)) continue;
    for (const v of m.values) {
      const name = (v as { metricName?: string }).metricName ?? m.name;
      const { role: _role, node: _node, ...labels } = v.labels as Record<string, string | number>;
      const list = metrics[name] ?? [];
      list.push({ labels, value: v.value });
      metrics[name] = list;
    }
  }
  return { metrics };
}
