import type { Enqueuer } from "@herald/jobs";
import type { Logger, Registry } from "@herald/observability";
import type { BusSubscriber, Presence } from "@herald/routing";
import { BusIntake } from "./bus-intake.js";
import { ConnectionPool } from "./connection-pool.js";
import { EdgeMetrics } from "./edge-metrics.js";
import { ApiKeys } from "./http/api-keys.js";
import { messageRoute } from "./http/message-route.js";
import { mountOpsRoutes } from "./http/ops-routes.js";
import { presenceRoute } from "./http/presence-route.js";
import { Reply, STATUS } from "./http/respond.js";
import { LocalHub } from "./local-hub.js";
import { loadNativeUws, type TemplatedApp, type us_listen_socket } from "./native-uws.js";
import { idleTimeoutSeconds } from "./ping-schedule.js";
import { type ClientSocket, type Conn, closeWith } from "./socket/client-socket.js";
import type { SocketOptions } from "./socket/socket-context.js";
import { socketHandler } from "./socket/socket-handler.js";
import { startSweep } from "./sweep.js";
import { TokenVerifier } from "./token-verifier.js";
import { TopicInterest } from "./topic-interest.js";

export interface EdgeOptions extends SocketOptions {
  host: string;
  port: number;
  jwtSecret: string;
  apiKeys: readonly string[];
  maxBodyBytes: number;
  idleTimeoutSeconds: number;
  maxConnections: number;
  maxConnectionsPerUser: number;
  maxBackpressureBytes: number;
  drainSeconds: number;
  enqueueTimeoutMs: number;
}

export interface EdgeDeps {
  log: Logger;
  registry: Registry;
  presence: Presence;
  bus: BusSubscriber;
  enqueuer: Enqueuer;
  /** True while every Redis connection the edge depends on is ready. */
  redisReady: () => boolean;
}

export interface Edge {
  port: number;
  connections: () => number;
  /** Stops accepting, closes clients with 1012 over the drain window, stops timers. Idempotent. */
  drain(): Promise<void>;
}

const HEARTBEAT_MS = 5000;

/** Starts an edge node: WebSocket clients, the producer HTTP API and the ops endpoints on one port. */
export async function startEdge(options: EdgeOptions, deps: EdgeDeps): Promise<Edge> {
  const uws = loadNativeUws();
  const log = deps.log.child({ component: "edge" });
  const pool = new ConnectionPool<ClientSocket>(options);
  let intake: BusIntake | undefined;
  const metrics = new EdgeMetrics(
    deps.registry,
    () => pool.size,
    () => intake?.bulkBacklog ?? 0,
  );
  let draining = false;
  const app = uws.App();
  mountRoutes(app, options, deps, { pool, metrics, log, draining: () => draining });

  const hub = new LocalHub(app, pool, metrics, options.maxBackpressureBytes);
  intake = new BusIntake(deps.bus, {
    onDelivery: (d) => hub.deliver(d),
    onBatchEnd: () => hub.flush(),
    onResubscribed: (lane) => {
      metrics.busReconnects.inc({ lane });
      log.warn({ lane }, "bus subscriber reconnected: deliveries published while it was down were lost");
    },
    onMalformed: (lines) => metrics.busMalformed.inc(lines),
  });
  await intake.start();
  await deps.presence.heartbeat();

  const heartbeat = setInterval(() => {
    deps.presence.heartbeat().then(
      (reaped) => reaped.length && log.info({ reaped }, "reaped dead nodes"),
      (err: unknown) => log.warn({ err }, "heartbeat failed"),
    );
  }, HEARTBEAT_MS);
  const sweep = startSweep(pool, metrics, {
    idleMs: options.idleTimeoutSeconds * 1000,
    maxBufferedBytes: options.maxBackpressureBytes,
    pingMs: options.heartbeatSeconds * 1000,
  });

  const listenSocket = await listen(app, options.host, options.port);
  const port = uws.us_socket_local_port(listenSocket);
  log.info({ host: options.host, port }, "edge listening");

  let drained: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    drained ??= (async () => {
      draining = true;
      uws.us_listen_socket_close(listenSocket);
      clearInterval(heartbeat);
      sweep.stop();
      await closeAllSpread(pool, metrics, log, options.drainSeconds);
    })();
    return drained;
  };

  return { port, connections: () => pool.size, drain };
}

/** The WebSocket endpoint, the producer API and the ops endpoints. */
function mountRoutes(
  app: TemplatedApp,
  options: EdgeOptions,
  deps: EdgeDeps,
  parts: { pool: ConnectionPool<ClientSocket>; metrics: EdgeMetrics; log: Logger; draining: () => boolean },
): void {
  const { pool, metrics, log, draining } = parts;
  const topics = new TopicInterest(
    (t) => deps.presence.addSubscriber(t),
    (t) => deps.presence.removeSubscriber(t),
    (err, topic) => log.warn({ err, topic }, "topic unregistration failed"),
  );
  const handler = socketHandler({
    options,
    pool,
    topics,
    presence: deps.presence,
    metrics,
    log,
    verifier: new TokenVerifier(options.jwtSecret),
    draining,
  });
  app.ws<Conn>("/v1/ws", {
    // uWS drops a socket with no close frame (1006) past this; up to it, Herald answers
    // an oversize frame with a proper 1009 (see socket/client-frames).
    maxPayloadLength: Math.max(options.maxFrameBytes * 4, 1 << 20),
    // Pings are the sweep's, spread over the interval (see ping-schedule); uWS drops a socket
    // that answered none of them.
    idleTimeout: idleTimeoutSeconds(options.heartbeatSeconds),
    sendPingsAutomatically: false,
    // The sweep closes slow readers cleanly (1013); this is the hard stop behind it.
    maxBackpressure: options.maxBackpressureBytes * 4,
    closeOnBackpressureLimit: 1, // typed as a number in this release; it is a flag
    ...handler,
  });
  const apiKeys = new ApiKeys(options.apiKeys);
  app.post("/v1/messages", messageRoute({ ...options, apiKeys, enqueuer: deps.enqueuer, metrics, log }));
  app.get("/v1/presence/:user", presenceRoute(deps.presence, apiKeys));
  mountOpsRoutes(app, deps.registry, () => !draining() && deps.redisReady());
  app.any("/*", (res) => new Reply(res).json(STATUS.notFound, { error: "not_found" }));
}

function listen(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${host}:${port}`))));
  });
}

/** Closes every connection with 1012, spread over the drain window so the other nodes are not stampeded. */
async function closeAllSpread(
  pool: ConnectionPool<ClientSocket>,
  metrics: EdgeMetrics,
  log: Logger,
  seconds: number,
): Promise<void> {
  const open = [...pool.all()];
  log.info({ connections: open.length, seconds }, "draining");
  const ticks = Math.max(1, Math.round(seconds * 10));
  const perTick = Math.ceil(open.length / ticks);
  for (let i = 0; i < open.length; i += perTick) {
    for (const conn of open.slice(i, i + perTick)) closeWith(conn, "restart", metrics, "node draining");
    if (i + perTick < open.length) await new Promise((r) => setTimeout(r, 100));
  }
}
