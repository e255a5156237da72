import { fileURLToPath } from "node:url";
import { Counter, createLogger, createRegistry, onShutdown, startOpsServer } from "@herald/observability";
import { freePort, type LocalRedis } from "@herald/redis";
import type { Config } from "../config/load-config.js";
import { announceDevSecrets, generateSecret, provisionRedis } from "../dev-mode.js";
import { HERALD_VERSION } from "../version.js";
import { mergeMetrics } from "./merge-metrics.js";
import type { ProcessPlan } from "./plan.js";
import { type ChildSpec, SupervisedChild } from "./supervised-child.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The CLI's bin, which each child runs with its role (the same start-up a user's `herald edge` has). */
const CLI = fileURLToPath(new URL("../../bin/herald.js", import.meta.url));

/** How often the supervisor asks its children whether they are ready (for its own /readyz). */
const READY_POLL_MS = 1000;

/**
 * Runs a plan's edge and worker processes on this machine: the edges share the listen port
 * (uWS listens with SO_REUSEPORT on Linux, and the kernel spreads connections), the workers
 * share the queues. Restarts a child that crashes, with back-off; passes SIGTERM on for a
 * clean drain; serves every child's metrics, merged, with /healthz and /readyz (ready when
 * every child is) on HERALD_METRICS_PORT. A child that exits before it ever served (a
 * start-up error: bad handlers, no Redis binary) stops everything, with exit code 1.
 */
export async function supervise(config: Config, env: Env, plan: ProcessPlan): Promise<void> {
  const log = createLogger(config.logLevel, { node: config.nodeId, role: "supervisor" });
  const children: SupervisedChild[] = [];
  let local: LocalRedis | undefined;
  const stopAll = async () => {
    await Promise.all(children.map((c) => c.stop()));
    await local?.stop();
  };
  const graceMs = config.drainSeconds * 1000 + config.jobTimeoutMs + 15_000;
  const shutdown = onShutdown(log, graceMs, stopAll);

  let redisUrl = config.redisUrl;
  if (config.dev && !config.redisUrlSet)
    ({ url: redisUrl, local } = await provisionRedis(redisUrl, config.devRedis, log));
  const secrets = devSecrets(config, plan);
  const port = config.port === 0 && plan.edges > 0 ? await freePort() : config.port;
  const base: Record<string, string> = {
    ...definedOnly(env),
    REDIS_URL: redisUrl,
    HERALD_PORT: String(port),
    HERALD_EDGE_PROCESSES: "1",
    HERALD_WORKER_PROCESSES: "1",
    HERALD_DEV: config.dev ? "1" : "0",
    ...(secrets.jwtSecret ? { HERALD_JWT_SECRET: secrets.jwtSecret } : {}),
    ...(secrets.apiKeys.length ? { HERALD_API_KEYS: secrets.apiKeys.join(",") } : {}),
  };
  const specs = await childSpecs(config, plan, base);
  const registry = createRegistry("supervisor", config.nodeId, HERALD_VERSION);
  const restarts = new Counter({
    name: "herald_supervisor_restarts_total",
    help: "Child processes the supervisor started again after they died, by role",
    labelNames: ["role"],
    registers: [registry],
  });
  for (const { spec } of specs) children.push(new SupervisedChild(spec, CLI, log, (role) => restarts.inc({ role })));
  const readiness = watchReadiness(specs.map((s) => s.opsPort));
  const ops = await startOpsServer({
    host: config.metricsHost,
    port: config.metricsPort,
    registry: {
      contentType: registry.contentType,
      metrics: async () => mergeMetrics([await registry.metrics(), ...(await scrapeAll(specs.map((s) => s.opsPort)))]),
    },
    ready: readiness.ready,
  });
  log.info({ port: ops.port, edges: plan.edges, workers: plan.workers, listen: port }, "supervisor running");
  const stopOps = async () => {
    readiness.stop();
    await ops.close();
  };
  for (const c of children) c.start();
  try {
    await Promise.all(children.filter((c) => c.spec.role === "edge").map((c) => c.up));
    announceDevSecrets(log, port, { secret: secrets.generatedSecret, apiKey: secrets.generatedKey });
    await Promise.all(children.map((c) => c.up));
  } catch (err) {
    if (shutdown.stopping()) return;
    log.error({ err }, "a child process failed to start: stopping");
    await Promise.all([stopAll(), stopOps()]);
    throw err;
  }
}

/** The secrets dev mode generates for the children where none were configured (and which to print). */
function devSecrets(config: Config, plan: ProcessPlan) {
  const edges = plan.edges > 0;
  const generatedSecret = edges && config.jwtSecret === undefined && config.dev ? generateSecret() : undefined;
  const generatedKey = edges && config.apiKeys.length === 0 && config.dev ? generateSecret() : undefined;
  return {
    jwtSecret: config.jwtSecret ?? generatedSecret,
    apiKeys: generatedKey ? [generatedKey] : [...config.apiKeys],
    generatedSecret,
    generatedKey,
  };
}

/** Each child's name, role and environment, with the loopback port where the supervisor reads its metrics. */
async function childSpecs(config: Config, plan: ProcessPlan, base: Record<string, string>) {
  const specs: { spec: ChildSpec; opsPort: number }[] = [];
  for (const [role, count] of [
    ["edge", plan.edges],
    ["worker", plan.workers],
  ] as const) {
    for (let i = 0; i < count; i++) {
      const opsPort = await freePort();
      const own: Record<string, string> =
        role === "edge"
          ? { HERALD_EDGE_LOCAL_METRICS_PORT: String(opsPort) }
          : { HERALD_METRICS_PORT: String(opsPort), HERALD_METRICS_HOST: "127.0.0.1" };
      const name = `${role}-${i}`;
      specs.push({
        spec: { name, role, env: { ...base, ...own, HERALD_NODE_ID: `${config.nodeId}-${name}` } },
        opsPort,
      });
    }
  }
  return specs;
}

/** Every child's /metrics text; a child that does not answer (restarting) is left out of this scrape. */
async function scrapeAll(ports: readonly number[]): Promise<string[]> {
  const texts = await Promise.all(
    ports.map((p) =>
      fetch(`http://127.0.0.1:${p}/metrics`, { signal: AbortSignal.timeout(2000) })
        .then((r) => (r.ok ? r.text() : ""))
        .catch(() => ""),
    ),
  );
  return texts.filter(Boolean);
}

/** Polls the children's /readyz: ready while every one of them answers 200. */
function watchReadiness(ports: readonly number[]): { ready: () => boolean; stop: () => void } {
  let ready = false;
  const poll = async () => {
    const answers = await Promise.all(
      ports.map((p) =>
        fetch(`http://127.0.0.1:${p}/readyz`, { signal: AbortSignal.timeout(READY_POLL_MS) })
          .then((r) => r.status === 200)
          .catch(() => false),
      ),
    );
    ready = answers.every(Boolean);
  };
  const timer = setInterval(() => void poll(), READY_POLL_MS);
  timer.unref();
  void poll();
  return { ready: () => ready, stop: () => clearInterval(timer) };
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
