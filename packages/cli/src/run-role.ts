import { startEdge } from "@herald/edge";
import { Enqueuer, readPending } from "@herald/jobs";
import {
  createLogger,
  createRegistry,
  type Logger,
  onShutdown,
  queueWaitingGauge,
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
  waitReady,
} from "@herald/redis";
import { startWorker } from "@herald/worker";
import type { Redis } from "ioredis";
import { type Config, enqueuerOptions } from "./config/load-config.js";
import { generateSecret, provisionRedis, signToken } from "./dev-mode.js";
import { loadHandlers } from "./load-handlers.js";

/** Wires and runs `herald edge | worker | all`. The only place objects are built. */
export async function runRole(config: Config): Promise<void> {
  const log = createLogger(config.logLevel, { node: config.nodeId, role: config.role });
  let redisUrl = config.redisUrl;
  let local: LocalRedis | undefined;
  const connections: Redis[] = [];
  // Stop steps, in order; installed before anything starts, so a signal during start-up
  // still stops whatever is running by then (a private redis-server included).
  const stops: (() => Promise<void>)[] = [];
  const graceMs = config.drainSeconds * 1000 + config.jobTimeoutMs + 10_000;
  onShutdown(log, graceMs, async () => {
    for (const stop of stops) await stop().catch((err: unknown) => log.error({ err }, "stop step failed"));
    await Promise.allSettled(connections.map(closeRedis));
    await local?.stop();
  });

  if (config.dev) ({ url: redisUrl, local } = await provisionRedis(redisUrl, log));
  const connect = (name: string, opts: { failFast?: boolean; blocking?: boolean } = {}) => {
    const r = connectRedis(redisUrl, { name, ...opts });
    r.on("error", (err: Error) => log.debug({ err: err.message, connection: name }, "redis connection error"));
    connections.push(r);
    return r;
  };
  const keys = new Keys(config.prefix);
  const registry = createRegistry(config.role, config.nodeId);
  const runsEdge = config.role !== "worker";
  const runsWorker = config.role !== "edge";

  const commands = defineScripts(connect("commands", { failFast: runsEdge && !runsWorker }));
  await waitReady(commands, 10_000).catch((err: Error) =>
    log.warn({ err: err.message }, "Redis not ready yet; retrying"),
  );
  queueWaitingGauge(registry, () => readPending(commands, keys));
  const options = enqueuerOptions(config);

  if (runsWorker) {
    const enqueuer = new Enqueuer(commands, keys, options);
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
        handlers: await loadHandlers(config.handlers),
        connectBlocking: (name) => connect(name, { blocking: true }),
      },
    );
    stops.push(
      () => worker.close(),
      () => enqueuer.close(),
    );
    if (config.role === "worker") {
      const ops = await startOpsServer({ host: "0.0.0.0", port: config.metricsPort, registry, ready: worker.ready });
      log.info({ port: ops.port }, "worker ops endpoints listening");
      stops.unshift(() => ops.close());
    }
  }

  if (runsEdge) {
    const edgeCommands = runsWorker ? defineScripts(connect("edge", { failFast: true })) : commands;
    const subscribers = {
      urgent: connect(keys.subscriberName(config.nodeId, "urgent")),
      bulk: connect(keys.subscriberName(config.nodeId, "bulk")),
    };
    // A fail-fast connection refuses commands until it is up: let it come up first.
    await waitReady(edgeCommands, 10_000).catch(() => undefined);
    const jwtSecret = config.jwtSecret ?? generateSecret();
    const apiKeys = config.apiKeys.length ? config.apiKeys : [generateSecret()];
    const enqueuer = new Enqueuer(edgeCommands, keys, options);
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
        registry,
        presence: new RedisPresence(edgeCommands, keys, config.nodeId),
        bus: new RedisBusSubscriber(keys, subscribers, config.nodeId),
        enqueuer,
        redisReady: () =>
          edgeCommands.status === "ready" &&
          subscribers.urgent.status === "ready" &&
          subscribers.bulk.status === "ready",
      },
    );
    stops.unshift(
      () => edge.drain(),
      () => enqueuer.close(),
    );
    if (config.jwtSecret === undefined || config.apiKeys.length === 0) {
      await announceDevSecrets(log, edge.port, jwtSecret, apiKeys[0] as string);
    }
  }
}

async function announceDevSecrets(log: Logger, port: number, secret: string, apiKey: string): Promise<void> {
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
