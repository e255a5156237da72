import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startEdge } from "@herald/edge";
import { Enqueuer, PendingCount } from "@herald/jobs";
import {
  createLogger,
  createRegistry,
  type Logger,
  onShutdown,
  pendingDriftCounter,
  queueWaitingGauge,
  type Registry,
  startOpsServer,
} from "@herald/observability";
import { HistoryPolicy } from "@herald/protocol";
import {
  closeRedis,
  connectRedis,
  defineScripts,
  Keys,
  type LocalRedis,
  RedisBus,
  RedisBusSubscriber,
  RedisHistory,
  RedisPresence,
  RedisShardedBusSubscriber,
  type ScriptedRedis,
  TurnSignals,
} from "@herald/redis";
import { type HeraldWorker, startWorker } from "@herald/worker";
import type { Redis } from "ioredis";
import { type Config, enqueuerOptions } from "./config/load-config.js";
import { dashboardSource, publishStats } from "./dashboard-source.js";
import { announceDevSecrets, generateSecret, provisionRedis } from "./dev-mode.js";
import { loadHandlers } from "./load-handlers.js";
import { checkRedisSettings } from "./redis-checks.js";
import { HERALD_VERSION } from "./version.js";

/** What every role of one process shares: its config, logger, registry, keys and Redis connections. */
interface Process {
  config: Config;
  log: Logger;
  registry: Registry;
  keys: Keys;
  /** Opens a Redis connection that the process closes on shutdown. */
  connect(name: string, opts?: { failFast?: boolean; blocking?: boolean; shardedSubscriber?: boolean }): Redis;
  /** Stop steps, run in order on shutdown. */
  stops: (() => Promise<void>)[];
}

/**
 * Wires and runs one `herald edge` or `herald worker` process (`herald all` runs them as
 * processes of their own, under the supervisor). The only place objects are built.
 */
export async function runRole(config: Config & { role: "edge" | "worker" }): Promise<void> {
  const log = createLogger(config.logLevel, { node: config.nodeId, role: config.role });
  let redisUrl = config.redisUrl;
  let local: LocalRedis | undefined;
  const connections: Redis[] = [];
  // Installed before anything starts, so a signal during start-up still stops whatever is
  // running by then (a private redis-server included).
  const stops: (() => Promise<void>)[] = [];
  const graceMs = config.drainSeconds * 1000 + config.jobTimeoutMs + 10_000;
  const shutdown = onShutdown(log, graceMs, async () => {
    for (const stop of stops) await stop().catch((err: unknown) => log.error({ err }, "stop step failed"));
    await Promise.allSettled(connections.map(closeRedis));
    await local?.stop();
  });

  if (config.dev && !config.redisUrlSet)
    ({ url: redisUrl, local } = await provisionRedis(redisUrl, config.devRedis, log));
  const proc: Process = {
    config,
    log,
    registry: createRegistry(config.role, config.nodeId, HERALD_VERSION),
    keys: new Keys(config.prefix, config.redisCluster ? "cluster" : "standalone"),
    stops,
    connect: (name, opts = {}) => {
      const r = connectRedis(redisUrl, { name, ...opts, cluster: config.redisCluster });
      r.on("error", (err: Error) => log.debug({ err: err.message, connection: name }, "redis connection error"));
      connections.push(r);
      return r;
    },
  };
  // An edge's commands fail fast, so producers get a 503 at once while Redis is away.
  const commands = defineScripts(proc.connect("commands", { failFast: config.role === "edge" }));
  const pending = new PendingCount(commands, proc.keys);
  reportPending(proc, pending);
  checkRedisSettings(commands, log);
  stops.push(
    publishStats({ redis: commands, keys: proc.keys, registry: proc.registry, log }, config.nodeId, config.role),
  );
  try {
    if (config.role === "edge") await runEdge(proc, commands, pending);
    else await runWorker(proc, commands, pending);
  } catch (err) {
    // A signal during start-up closes what the start was waiting for: the shutdown reports.
    if (!shutdown.stopping()) throw err;
  }
}

/** `herald_queue_waiting`, read from Redis at each scrape; a count below zero is a bug, logged and counted. */
function reportPending(proc: Process, pending: PendingCount): void {
  const drift = pendingDriftCounter(proc.registry);
  queueWaitingGauge(proc.registry, () =>
    pending.read((priority, value) => {
      drift.inc({ priority });
      proc.log.error({ priority, value }, "pending count below zero: the queue capacity is not enforced correctly");
    }),
  );
}

async function runWorker(proc: Process, commands: ScriptedRedis, pending: PendingCount): Promise<void> {
  const { config, keys, log, registry } = proc;
  const enqueuer = new Enqueuer({ redis: commands, keys, pending }, enqueuerOptions(config));
  let worker: HeraldWorker | undefined;
  // Up before the worker, so /readyz answers (503) while Redis is out of reach.
  const ops = await startOpsServer({
    host: config.metricsHost,
    port: config.metricsPort,
    registry,
    ready: () => worker?.ready() ?? false,
  });
  log.info({ port: ops.port }, "worker ops endpoints listening");
  proc.stops.push(() => ops.close());
  worker = await startWorker(
    {
      concurrency: config.concurrency,
      handlerTimeoutMs: config.jobTimeoutMs,
      maxAttempts: config.maxAttempts,
      backoffBaseMs: config.backoffMs,
      backoffMaxMs: config.backoffMaxMs,
      deadLetterCapacity: config.deadLetterCapacity,
      busBacklogHighWaterBytes: config.busBacklogBytes,
      bulkShare: config.bulkShare,
    },
    {
      log,
      registry,
      keys,
      redis: commands,
      bus: new RedisBus(
        keys,
        commands,
        {
          history: new HistoryPolicy(config.history),
          unacked: { cap: config.unackedMax, retentionMs: config.unackedSeconds * 1000 },
        },
        turnSignals(proc),
      ),
      enqueuer,
      pending,
      handlers: await loadHandlers(config.handlers),
      connectBlocking: (name) => proc.connect(name, { blocking: true }),
    },
  );
  const started = worker;
  proc.stops.push(
    () => started.close(),
    () => enqueuer.close(),
  );
}

async function runEdge(proc: Process, commands: ScriptedRedis, pending: PendingCount): Promise<void> {
  const { config, keys, log } = proc;
  const { subscribers, bus } = busSubscriber(proc, commands);
  const jwtSecret = config.jwtSecret ?? generateSecret();
  const apiKeys = config.apiKeys.length ? config.apiKeys : [generateSecret()];
  const enqueuer = new Enqueuer({ redis: commands, keys, pending }, enqueuerOptions(config));
  const dashboard = config.dashboard
    ? dashboardSource({ redis: commands, keys, enqueuer }, config.deadLetterCapacity)
    : undefined;
  if (dashboard) proc.stops.push(() => dashboard.close());
  const edge = await startEdge(
    {
      host: config.host,
      port: config.port,
      nodeId: config.nodeId,
      tokens: {
        secrets: [{ secret: jwtSecret, kid: config.jwtKid }, ...(config.jwtPreviousSecrets ?? [])],
        clockToleranceSeconds: config.jwtClockToleranceSeconds,
        maxAgeSeconds: config.jwtMaxAgeSeconds,
      },
      apiKeys,
      maxFrameBytes: config.maxFrameBytes,
      maxBodyBytes: config.maxBodyBytes,
      heartbeatSeconds: config.heartbeatSeconds,
      idleTimeoutSeconds: config.idleTimeoutSeconds,
      maxConnections: config.maxConnections,
      maxConnectionsPerUser: config.maxConnectionsPerUser,
      maxSubscriptions: config.maxSubscriptions,
      replayLimit: config.replayLimit,
      framesPerSecond: config.framesPerSecond,
      frameBurst: config.framesPerSecond * 2,
      maxBackpressureBytes: config.maxBackpressureBytes,
      drainSeconds: config.drainSeconds,
      enqueueTimeoutMs: 3000,
      publicMetrics: config.edgeMetricsPort === undefined,
      canaryIntervalMs: config.canarySeconds * 1000,
    },
    {
      log,
      registry: proc.registry,
      presence: new RedisPresence(commands, keys, config.nodeId),
      history: new RedisHistory(commands, keys),
      bus,
      canaryBus: new RedisBus(keys, commands),
      enqueuer,
      dashboard,
      demoClientScript: config.dev ? browserClient(log) : undefined,
      redisReady: () => [commands, subscribers.urgent, subscribers.bulk].every((r) => r.status === "ready"),
    },
  );
  proc.stops.unshift(
    () => edge.drain(),
    () => enqueuer.close(),
  );
  if (config.edgeMetricsPort !== undefined)
    await serveEdgeOps(proc, config.metricsHost, config.edgeMetricsPort, edge.ready);
  if (config.edgeLocalMetricsPort !== undefined) {
    await serveEdgeOps(proc, "127.0.0.1", config.edgeLocalMetricsPort, edge.ready);
  }
  announceDevSecrets(log, edge.port, {
    secret: config.jwtSecret === undefined ? jwtSecret : undefined,
    apiKey: config.apiKeys.length === 0 ? apiKeys[0] : undefined,
  });
}

/** Wake-ups for the worker's jobs waiting for their publish turn, on a subscriber connection of their own. */
function turnSignals({ config, connect }: Process): TurnSignals {
  const subscriber = connect("turns", { blocking: true, shardedSubscriber: config.redisCluster });
  return new TurnSignals(subscriber, config.redisCluster);
}

/** The edge's two subscriber connections (sharded ones in cluster mode) and the bus subscriber over them. */
function busSubscriber({ config, keys, connect }: Process, commands: ScriptedRedis) {
  // Subscribers never give up a command: a subscribe waits for Redis, however long it is away.
  const sub = { blocking: true, shardedSubscriber: config.redisCluster };
  const subscribers = {
    urgent: connect(keys.subscriberName(config.nodeId, "urgent"), sub),
    bulk: connect(keys.subscriberName(config.nodeId, "bulk"), sub),
  };
  const Subscriber = config.redisCluster ? RedisShardedBusSubscriber : RedisBusSubscriber;
  return { subscribers, bus: new Subscriber(keys, subscribers, config.nodeId, commands) };
}

/** An edge's /metrics, /healthz and /readyz on a port of their own, besides its public port. */
async function serveEdgeOps(proc: Process, host: string, port: number, ready: () => boolean): Promise<void> {
  const ops = await startOpsServer({ host, port, registry: proc.registry, ready });
  proc.log.info({ host, port: ops.port }, "edge metrics listening");
  proc.stops.push(() => ops.close());
}

/**
 * Herald's browser client, for the demo the edge serves in dev mode: the bundle `npm ci`
 * builds (the root `prepare`); undefined, and no demo, when it was not built.
 */
function browserClient(log: Logger): string | undefined {
  try {
    return readFileSync(fileURLToPath(import.meta.resolve("@herald/client/browser")), "utf8");
  } catch (err) {
    log.warn({ err }, "the browser client is not built (npm run build): no demo at /demo/");
    return undefined;
  }
}
