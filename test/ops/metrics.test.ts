import { join } from "node:path";
import { type HeraldProcess, type LocalRedis, startHerald, startLocalRedis } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { dashboardExprs, exposedFamilies, isExposed, metricNames, ruleFile } from "./support/promql.js";
import { CHART, helm } from "./support/tools.js";

/**
 * Every metric the dashboard, the alerts and the KEDA query read must exist: this scrapes a
 * live edge and a live worker (real processes, a private redis-server) and compares names.
 */

/** Series that come from elsewhere than Herald, by where they come from. */
const EXTERNAL: [RegExp, string][] = [
  [/^up$/, "Prometheus itself"],
  [/^probe_success$/, "the blackbox exporter (infra/docker-compose.yml)"],
  [/^redis_/, "redis_exporter"],
  [/^kube_/, "kube-state-metrics"],
];
const external = (name: string) => EXTERNAL.some(([re]) => re.test(name));

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are walked freely
type Obj = Record<string, any>;

/** Every PromQL expression of the pack, by where it is. */
function packExpressions(): { where: string; expr: string }[] {
  const rendered = helm(["template", "herald", CHART, "-f", join(CHART, "ci", "monitoring-values.yaml")]);
  const keda = helm(["template", "herald", CHART, "-f", join(CHART, "ci", "keda-values.yaml")]);
  if (rendered.status !== 0 || keda.status !== 0) throw new Error(rendered.stderr + keda.stderr);
  const objects = [...parseAllDocuments(rendered.stdout), ...parseAllDocuments(keda.stdout)].map(
    (d) => d.toJSON() as Obj,
  );
  const chartRules = objects
    .filter((o) => o?.kind === "PrometheusRule")
    .flatMap((o) => o.spec.groups.flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules));
  const kedaQueries = objects
    .filter((o) => o?.kind === "ScaledObject")
    .flatMap((o) => o.spec.triggers.map((t: { metadata: { query: string } }) => t.metadata.query));
  return [
    ...dashboardExprs("infra/grafana/dashboards/herald.json").map((e) => ({ where: `panel "${e.title}"`, ...e })),
    ...ruleFile("k8s/charts/herald/files/herald-alerts.yml").map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ...ruleFile("infra/prometheus/rules/compose-alerts.yml").map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ...chartRules.map((r: { alert: string; expr: string }) => ({ where: `chart alert ${r.alert}`, expr: r.expr })),
    ...kedaQueries.map((q: string) => ({ where: "KEDA query", expr: q })),
  ];
}

describe("metric names read from PromQL", () => {
  it("are the series, not the functions, labels, keywords or durations", () => {
    const expr =
      'histogram_quantile(0.99, sum by (priority, le) (rate(herald_delivery_latency_seconds_bucket{priority="low"}[5m]))) > 2 and on (node) up{job="herald"} == 0';
    expect(metricNames(expr).sort()).toEqual(["herald_delivery_latency_seconds_bucket", "up"]);
  });
});

describe("every metric the dashboard, the alerts and the autoscaler read", () => {
  let redis: LocalRedis;
  let edge: HeraldProcess;
  let worker: HeraldProcess;
  let families: Map<string, string>;

  beforeAll(async () => {
    redis = await startLocalRedis();
    const env = { REDIS_URL: redis.url, HERALD_PREFIX: "opsmetrics" };
    edge = await startHerald("edge", {
      ...env,
      HERALD_JWT_SECRET: "ops-metrics-test-secret-0123456789",
      HERALD_API_KEYS: "ops-metrics-test-key-0123456789",
    });
    worker = await startHerald("worker", env);
    await worker.waitForLog((l) => l.msg === "worker running", "the worker running");
    const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const texts = [await scrape(edge.port), await scrape(worker.port)];
    families = new Map(texts.flatMap((t) => [...exposedFamilies(t)]));
  });
  afterAll(async () => {
    await Promise.all([edge?.stop("SIGTERM"), worker?.stop("SIGTERM")]);
    await redis?.stop();
  });

  it("is served by a live edge or worker, or comes from a known exporter", () => {
    const expressions = packExpressions();
    expect(expressions.length).toBeGreaterThan(40);
    const missing = expressions.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !external(name) && !isExposed(name, families))
        .map((name) => `${where}: ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it("covers the dashboard's subjects: connections, throughput and latency, queues, dead letters, bus, event loop, Redis", () => {
    const used = new Set(dashboardExprs("infra/grafana/dashboards/herald.json").flatMap((e) => metricNames(e.expr)));
    for (const name of [
      "herald_connections",
      "herald_messages_delivered_total",
      "herald_delivery_latency_seconds_bucket",
      "herald_queue_waiting",
      "herald_worker_queue_wait_seconds_bucket",
      "herald_worker_messages_total",
      "herald_bus_backlog_bytes",
      "herald_worker_lane_paused",
      "nodejs_eventloop_lag_p99_seconds",
      "redis_up",
    ])
      expect(used, name).toContain(name);
  });

  it("follows Prometheus naming: counters end in _total, histograms carry a base unit", () => {
    const herald = [...families].filter(([name]) => name.startsWith("herald_"));
    expect(herald.length).toBeGreaterThan(20);
    for (const [name, type] of herald) {
      if (type === "counter") expect(name, name).toMatch(/_total$/);
      if (type === "histogram") expect(name, name).toMatch(/_(seconds|bytes)$/);
      if (type === "gauge") expect(name, name).not.toMatch(/_total$/);
    }
  });
});
