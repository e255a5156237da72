import type { Enqueuer } from "@herald/jobs";
import type { Logger, Registry } from "@herald/observability";
import type { RedisBusSubscriber, RedisPresence } from "@herald/redis";
import { sweepVerdict } from "./connection.js";
import { ConnectionPool } from "./connection-pool.js";
import { EdgeMetrics } from "./edge-metrics.js";
import { ApiKeys } from "./http/api-keys.js";
import { messageRoute } from "./http/message-route.js";
import { mountOpsRoutes } from "./http/ops-routes.js";
import { presenceRoute } from "./http/presence-route.js";
import { Reply, STATUS } from "./http/respond.js";
import { LocalHub } from "./local-hub.js";
import { loadNativeUws, type us_listen_socket } from "./native-uws.js";
import { idleTimeoutSeconds, pingDue, pingPhase } from "./ping-schedule.js";
import { type Conn, closeWith, type SocketOptions, socketHandler, type Ws } from "./socket-handler.js";
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
  presence: RedisPresence;
  bus: RedisBusSubscriber;
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
const SWEEP_CLOSE_TEXT = { idle: "idle timeout", tokenExpired: "token expired", tryAgain: "too slow to read" } as const;
const SWEEP_MS = 1000;

/** Starts an edge node: WebSocket clients, the producer HTTP API and the ops endpoints on one port. */
export async function startEdge(options: EdgeOptions, deps: EdgeDeps): Promise<Edge> {
  const uws = loadNativeUws();
  const log = deps.log.child({ component: "edge" });
  const pool = new ConnectionPool<Ws>(options);
  const metrics = new EdgeMetrics(
    deps.registry,
    () => pool.size,
    () => deps.bus.bulkBacklog,
  );
  const topics = new TopicInterest(
    (t) => deps.presence.addSubscriber(t),
    (t) => deps.presence.removeSubscriber(t),
    (err, topic) => log.warn({ err, topic }, "topic unregistration failed"),
  );
  let draining = false;
  const apiKeys = new ApiKeys(options.apiKeys);

  const app = uws.App();
  const hub = new LocalHub(app, pool, metrics, options.maxBackpressureBytes);
  const handler = socketHandler({
    options,
    pool,
    topics,
    presence: deps.presence,
    verifier: new TokenVerifier(options.jwtSecret),
    metrics,
    log,
    draining: () => draining,
  });

  app.ws<Conn>("/v1/ws", {
    // uWS drops a socket with no close frame (1006) past this; up to it, Herald answers
    // an oversize frame with a proper 1009 (see socket-handler).
    maxPayloadLength: Math.max(options.maxFrameBytes * 4, 1 << 20),
    // Pings are the sweep's, spread over the interval (see ping-schedule); uWS drops a socket
    // that answered none of them.
    idleTimeout: idleTimeoutSeconds(options.heartbeatSeconds),
    sendPingsAutomatically: false,
    // The 1013 sweep below closes slow readers cleanly; this is the hard stop behind it.
    maxBackpressure: options.maxBackpressureBytes * 4,
    closeOnBackpressureLimit: 1, // typed as a number in this release; it is a flag
    ...handler,
  });
  app.post("/v1/messages", messageRoute({ ...options, apiKeys, enqueuer: deps.enqueuer, metrics, log }));
  app.get("/v1/presence/:user", presenceRoute(deps.presence, apiKeys));
  mountOpsRoutes(app, deps.registry, () => !draining && deps.redisReady());
  app.any("/*", (res) => new Reply(res).json(STATUS.notFound, { error: "not_found" }));

  await deps.bus.start({
    onDelivery: (d) => hub.deliver(d),
    onBatchEnd: () => hub.flush(),
    onResubscribed: (lane) => {
      metrics.busReconnects.inc({ lane });
      log.warn({ lane }, "bus subscriber reconnected: deliveries published while it was down were lost");
    },
    onMalformed: (lines) => metrics.busMalformed.inc(lines),
  });
  await deps.presence.heartbeat();

  const heartbeat = setInterval(() => {
    deps.presence.heartbeat().then(
      (reaped) => reaped.length && log.info({ reaped }, "reaped dead nodes"),
      (err: unknown) => log.warn({ err }, "heartbeat failed"),
    );
  }, HEARTBEAT_MS);
  const sweepLimits = { idleMs: options.idleTimeoutSeconds * 1000, maxBufferedBytes: options.maxBackpressureBytes };
  const pingMs = options.heartbeatSeconds * 1000;
  let lastSweep = Date.now();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const conn of pool.all()) {
      if (!conn.socket) continue;
      const verdict = sweepVerdict(conn, now, conn.socket.getBufferedAmount(), sweepLimits);
      if (verdict) closeWith(conn, verdict, metrics, SWEEP_CLOSE_TEXT[verdict]);
      else if (conn.state === "open" && pingDue(pingPhase(conn.id, pingMs), lastSweep, now, pingMs)) conn.socket.ping();
    }
    lastSweep = now;
  }, SWEEP_MS);

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(options.host, options.port, (s) =>
      s ? resolve(s) : reject(new Error(`cannot listen on ${options.host}:${options.port}`)),
    );
  });
  const port = uws.us_socket_local_port(listenSocket);
  log.info({ host: options.host, port }, "edge listening");

  let drained: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    drained ??= (async () => {
      draining = true;
      uws.us_listen_socket_close(listenSocket);
      clearInterval(heartbeat);
      clearInterval(sweep);
      const open = [...pool.all()];
      log.info({ connections: open.length, seconds: options.drainSeconds }, "draining");
      // Spread the reconnects over the window so the other nodes are not stampeded.
      const ticks = Math.max(1, Math.round(options.drainSeconds * 10));
      const perTick = Math.ceil(open.length / ticks);
      for (let i = 0; i < open.length; i += perTick) {
        for (const conn of open.slice(i, i + perTick)) closeWith(conn, "restart", metrics, "node draining");
        if (i + perTick < open.length) await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return drained;
  };

  return { port, connections: () => pool.size, drain };
}
