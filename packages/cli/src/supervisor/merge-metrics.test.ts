import { describe, expect, it } from "vitest";
import { mergeMetrics } from "./merge-metrics.js";

const edge = `# HELP herald_connections Client connections
# TYPE herald_connections gauge
herald_connections{role="edge",node="a"} 3
# HELP herald_delivery_latency_seconds Latency
# TYPE herald_delivery_latency_seconds histogram
herald_delivery_latency_seconds_bucket{le="0.1",node="a"} 1
herald_delivery_latency_seconds_sum{node="a"} 0.05
herald_delivery_latency_seconds_count{node="a"} 1
`;
const edge2 = edge.replaceAll('node="a"', 'node="b"');
const worker = `# HELP herald_worker_jobs_total Jobs
# TYPE herald_worker_jobs_total counter
herald_worker_jobs_total{node="w"} 7
`;

describe("merging processes' metrics", () => {
  it("keeps each family's HELP and TYPE once, followed by every process's samples", () => {
    const merged = mergeMetrics([edge, edge2, worker]);
    const lines = merged.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("# TYPE herald_connections"))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith("herald_connections{"))).toHaveLength(2);
    const at = lines.indexOf("# TYPE herald_delivery_latency_seconds histogram");
    expect(lines.slice(at + 1, at + 7).every((l) => l.startsWith("herald_delivery_latency_seconds_"))).toBe(true);
    expect(lines).toContain('herald_worker_jobs_total{node="w"} 7');
    expect(lines).toHaveLength(4 + 8 + 3);
  });
});
