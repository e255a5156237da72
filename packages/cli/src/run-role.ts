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
import {
  closeRedis,
  connectRedis,
  defineScripts,
  Keys,
  type LocalRedis,
  RedisBus,
  RedisBusSubscriber,
  RedisPresence,
  type ScriptedRedis,
  waitReady,
} from "@herald/redis";
import { startWorker } from "@herald/worker";
import type { Redis } from "ioredis";
import { type Config, enqueuerOptions } from "./config/load-config.js";
import { generateSecret, provisionRedis, signToken } from "./dev-mode.js";
import { loadHandlers } from "./load-handlers.js";

/** What every role of one process shares: its config, logger, registry, keys and Redis connections. */
interface Process {
  config: Config;
  log: Logger;
  registry: Registry;
  keys: Keys;
  /** Opens a Redis connection that the process closes on shutdown. */
  connect(name: string, opts?: { failFast?: boolean; blocking?: boolean }): Redis;
  /** Stop steps, run in order on shutdown. */
  stops: (() => Promise<void>)[];
}

/** Wires and runs `herald edge | worker | all`. The only place objects are built. */
export async function runRole(config: Config): Promise<void> {
  const log = createLogger(config.logLevel, { node: config.nodeId, role: config.role });
  let redisUrl = config.redisUrl;
  let local: LocalRedis | undefined;
  const connections: Redis[] = [];
  // Installed before anything starts, so a signal during start-up still stops whatever is
  // running by then (a private redis-server included).
  const stops: (() => Promise<void>)[] = [];
  const graceMs = config.drainSeconds * 1000 + config.jobTimeoutMs + 10_000;
  onShutdown(log, graceMs, async () => {
    for (const stop of stops) await stop().catch((err: unknown) => log.error({ err }, "stop step failed"));
    await Promise.allSettled(connections.map(closeRedis));
    await local?.stop();
  });

  if (config.dev) ({ url: redisUrl, local } = await provisionRedis(redisUrl, log));
  const proc: Process = {
    config,
    log,
    registry: createRegistry(config.role, config.nodeId),
    keys: new Keys(config.prefix),
    stops,
    connect: (name, opts = {}) => {
      const r = connectRedis(redisUrl, { name, ...opts });
      r.on("error", (err: Error) => log.debug({ err: err.message, connection: name }, "redis connection error"));
      connections.push(r);
      return r;
    },
  };
  const runsEdge = config.role !== "worker";
  const runsWorker = config.role !== "edge";
  const commands = defineScripts(proc.connect("commands", { failFast: runsEdge && !runsWorker }));
  await waitReady(commands, 10_000).catch((err: Error) =>
    log.warn({ err: err.message }, "Redis not ready yet; retrying"),
  );
  reportPending(proc, new PendingCount(commands, proc.keys));
  if (runsWorker) await runWorker(proc, commands);
  if (runsEdge) await runEdge(proc, runsWorker ? undefined : commands);
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

async function runWorker(proc: Process, commands: ScriptedRedis): Promise<void> {
  const { config, keys, log, registry } = proc;
  const pending = new PendingCount(commands, keys);
  const enqueuer = new Enqueuer({ redis: commands, keys, pending }, enqueuerOptions(config));
  const worker = await startWorker(
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
      bus: new RedisBus(keys, commands),
      enqueuer,
      pending,
      handlers: await loadHandlers(config.handlers),
      connectBlocking: (name) => proc.connect(name, { blocking: true }),
    },
  );
  proc.stops.push(
    () => worker.close(),
    () => enqueuer.close(),
  );
  if (config.role === "worker") {
    const ops = await startOpsServer({ host: "0.0.0.0", port: config.metricsPort, registry, ready: worker.ready });
    log.info({ port: ops.port }, "worker ops endpoints listening");
    proc.stops.unshift(() => ops.close());
  }
}

/** `shared`: the worker's command connection when the edge runs alone; else the edge opens its own, fail-fast. */
async function runEdge(proc: Process, shared: ScriptedRedis | undefined): Promise<void> {
  const { config, keys, log } = proc;
  const commands = shared ?? defineScripts(proc.connect("edge", { failFast: true }));
  const subscribers = {
    urgent: proc.connect(keys.subscriberName(config.nodeId, "urgent")),
    bulk: proc.connect(keys.subscriberName(config.nodeId, "bulk")),
  };
  // A fail-fast connection refuses commands until it is up: let it come up first.
  await waitReady(commands, 10_000).catch((err: Error) => log.warn({ err: err.message }, "Redis not ready yet"));
  const jwtSecret = config.jwtSecret ?? generateSecret();
  const apiKeys = config.apiKeys.length ? config.apiKeys : [generateSecret()];
  const enqueuer = new Enqueuer(
    { redis: commands, keys, pending: new PendingCount(commands, keys) },
    enqueuerOptions(config),
  );
  const edge = await startEdge(
    {
      host: config.host,
      port: config.port,
      nodeId: config.nodeId,
      jwtSecret,
      apiKeys,
      maxFrameBytes: config.maxFrameBytes,
      maxBodyBytes: config.maxBodyBytes,
      heartbeatSeconds: config.heartbeatSeconds,
      idleTimeoutSeconds: config.idleTimeoutSeconds,
      maxConnections: config.maxConnections,
      maxConnectionsPerUser: config.maxConnectionsPerUser,
      maxSubscriptions: config.maxSubscriptions,
      framesPerSecond: config.framesPerSecond,
      frameBurst: config.framesPerSecond * 2,
      maxBackpressureBytes: config.maxBackpressureBytes,
      drainSeconds: config.drainSeconds,
      enqueueTimeoutMs: 3000,
    },
    {
      log,
      registry: proc.registry,
      presence: new RedisPresence(commands, keys, config.nodeId),
      bus: new RedisBusSubscriber(keys, subscribers, config.nodeId),
      enqueuer,
      redisReady: () => [commands, subscribers.urgent, subscribers.bulk].every((r) => r.status === "ready"),
    },
  );
  proc.stops.unshift(
    () => edge.drain(),
    () => enqueuer.close(),
  );
  if (config.jwtSecret === undefined || config.apiKeys.length === 0) {
    announceDevSecrets(log, edge.port, jwtSecret, apiKeys[0] as string);
  }
}

function announceDevSecrets(log: Logger, port: number, secret: string, apiKey: string): void {
  const token = signToken(secret, "alice", ["demo:*"]);
  log.info({ sampleToken: token, apiKey, port }, "dev mode: generated HERALD_JWT_SECRET and HERALD_API_KEYS");
  process.stderr.write(
    [
      "",
      "  Herald is running in dev mode (generated secrets; set HERALD_JWT_SECRET and HERALD_API_KEYS to keep them).",
      `  WebSocket:    ws://localhost:${port}/v1/ws?token=${token}`,
      "               (user alice, may subscribe to demo:*; valid 24 h)",
      `  Producer key: ${apiKey}`,
      `  Send:         curl -X POST localhost:${port}/v1/messages -H 'authorization: Bearer ${apiKey}' \\`,
      `                  -H 'content-type: application/json' -d '{"to":{"user":"alice"},"event":"hello","data":{"n":1}}'`,
      "",
    ].join("\n"),
  );
}
