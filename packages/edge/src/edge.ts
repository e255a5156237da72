import { CoalescingEnqueuer, type Enqueuer } from "@herald/jobs";
import type { Logger, Registry } from "@herald/observability";
import { CLOSE_CODES } from "@herald/protocol";
import type { Bus, BusSubscriber, History, Presence } from "@herald/routing";
import { BusIntake } from "./bus-intake.js";
import { Canary } from "./canary.js";
import { ConnectionPool } from "./connection-pool.js";
import { EdgeMetrics } from "./edge-metrics.js";
import { Guard } from "./guard.js";
import { HeldDeliveries } from "./held-deliveries.js";
import { ApiKeys } from "./http/api-keys.js";
import { type DashboardSource, mountDashboard } from "./http/dashboard-route.js";
import { messageRoute } from "./http/message-route.js";
import { mountOpsRoutes } from "./http/ops-routes.js";
import { mountDemo } from "./http/pages.js";
import { presenceRoute } from "./http/presence-route.js";
import { Reply, STATUS } from "./http/respond.js";
import { LocalHub } from "./local-hub.js";
import { loadNativeUws, type TemplatedApp, type us_listen_socket } from "./native-uws.js";
import { idleTimeoutSeconds } from "./ping-schedule.js";
import { PresenceKeeper } from "./presence-keeper.js";
import { type ClientSocket, type Conn, closeWith } from "./socket/client-socket.js";
import type { SocketOptions } from "./socket/socket-context.js";
import { socketHandler } from "./socket/socket-handler.js";
import { startSweep } from "./sweep.js";
import { type TokenPolicy, TokenVerifier } from "./token-verifier.js";
import { TopicInterest } from "./topic-interest.js";

export interface EdgeOptions extends SocketOptions {
  host: string;
  port: number;
  tokens: TokenPolicy;
  apiKeys: readonly string[];
  maxBodyBytes: number;
  idleTimeoutSeconds: number;
  maxConnections: number;
  maxConnectionsPerUser: number;
  drainSeconds: number;
  enqueueTimeoutMs: number;
  /** Serve /metrics on the edge's own port (false when the operator serves it on a port of its own). */
  publicMetrics: boolean;
  /** How often the canary flies on each lane (ms); 0: no canary. */
  canaryIntervalMs: number;
}

export interface EdgeDeps {
  log: Logger;
  registry: Registry;
  presence: Presence;
  history: History;
  bus: BusSubscriber;
  /** The publish path the canary takes, the same as workers' deliveries. */
  canaryBus: Bus;
  enqueuer: Enqueuer;
  /** The operator dashboard's data; without it, /dashboard is not served. */
  dashboard?: DashboardSource | undefined;
  /** Herald's browser client (its bundle), to serve the demo at /demo/ with; without it, no demo. */
  demoClientScript?: string | undefined;
  /** True while every Redis connection the edge depends on is ready. */
  redisReady: () => boolean;
}

export interface Edge {
  port: number;
  connections: () => number;
  /** Live (subscribed and registered), connected to Redis and not draining: what /readyz says. */
  ready: () => boolean;
  /** Stops accepting, closes clients with 1012 over the drain window, stops timers. Idempotent. */
  drain(): Promise<void>;
}

/** How often a starting edge tries to register while Redis is out of reach. */
const JOIN_RETRY_MS = 1000;

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
  let live = false;
  const app = uws.App();
  const refusing = () => (draining ? "draining" : live ? undefined : "not_ready");
  const topics = new TopicInterest(
    (t) => deps.presence.addSubscriber(t),
    (t) => deps.presence.removeSubscriber(t),
    (err, topic) => log.warn({ err, topic }, "topic unregistration failed"),
  );
  const { keeper, canary } = presenceGuards(options, deps, { pool, topics, metrics, log });
  const ready = () =>
    live && !draining && deps.redisReady() && keeper.healthy && (canary === undefined || canary.healthy());
  const held = new HeldDeliveries();
  mountRoutes(app, options, deps, { pool, topics, held, metrics, log, refusing, ready });

  const hub = new LocalHub(app, pool, metrics, options.maxBackpressureBytes, held);
  intake = intakeFor(deps.bus, hub, canary, metrics, log);
  const sweep = startSweep(pool, metrics, {
    idleMs: options.idleTimeoutSeconds * 1000,
    maxBufferedBytes: options.maxBackpressureBytes,
    pingMs: options.heartbeatSeconds * 1000,
  });

  // Bound at once, so /healthz and /readyz answer while Redis is still out of reach; clients
  // and producers are turned away (503) until the edge is subscribed and registered.
  const listenSocket = await listen(app, options.host, options.port);
  const port = uws.us_socket_local_port(listenSocket);
  log.info({ host: options.host, port }, "edge bound: not ready until Redis answers");
  joinCluster(intake, deps.presence, log, () => draining).then(
    (joined) => {
      if (!joined) return;
      live = true;
      keeper.start();
      canary?.start().catch((err: unknown) => log.error({ err }, "canary could not start: readiness goes without it"));
      log.info({ host: options.host, port }, "edge listening");
    },
    (err: unknown) => log.error({ err }, "could not subscribe to the bus: this edge stays not ready"),
  );

  let drained: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    drained ??= (async () => {
      draining = true;
      uws.us_listen_socket_close(listenSocket);
      keeper.stop();
      sweep.stop();
      canary?.stop();
      await closeAllSpread(pool, metrics, log, options.drainSeconds);
    })();
    return drained;
  };

  return { port, connections: () => pool.size, ready, drain };
}

/** What the bus brings goes to the local hub, but for this edge's own canaries. */
function intakeFor(bus: BusSubscriber, hub: LocalHub, canary: Canary | undefined, metrics: EdgeMetrics, log: Logger) {
  return new BusIntake(bus, {
    onDelivery: (d) => {
      if (!canary?.take(d)) hub.deliver(d);
    },
    onBatchEnd: () => hub.flush(),
    onResubscribed: (lane, handedOver) => {
      metrics.bus.reconnects.inc({ lane });
      if (handedOver === undefined) {
        log.warn({ lane }, "bus subscriber reconnected; what was kept for it meanwhile could not be read yet");
      } else log.info({ lane, handedOver }, "bus subscriber reconnected: payloads kept for it meanwhile delivered");
    },
    onMalformed: (lines) => metrics.bus.malformed.inc(lines),
  });
}

/** What keeps this node present and proves deliveries reach it: the presence keeper and the canary. */
function presenceGuards(
  options: EdgeOptions,
  deps: EdgeDeps,
  parts: { pool: ConnectionPool<ClientSocket>; topics: TopicInterest; metrics: EdgeMetrics; log: Logger },
): { keeper: PresenceKeeper; canary: Canary | undefined } {
  const { pool, topics, metrics, log } = parts;
  let canary: Canary | undefined;
  const keeper = new PresenceKeeper(deps.presence, () => snapshotOf(pool, topics, canary), metrics, log);
  if (options.canaryIntervalMs > 0) {
    const onUnrouted = () => keeper.owe("canary");
    const canaryParts = { bus: deps.canaryBus, presence: deps.presence, metrics, log, onUnrouted };
    canary = new Canary(options.nodeId, canaryParts, options.canaryIntervalMs);
  }
  return { keeper, canary };
}

/** This node's own view of its interests: each user's connections (registered or registering), its topics, its canary. */
function snapshotOf(pool: ConnectionPool<ClientSocket>, topics: TopicInterest, canary: Canary | undefined) {
  const users = new Map<string, number>();
  for (const conn of pool.all()) {
    if (conn.presence === "none") continue;
    users.set(conn.identity.userId, (users.get(conn.identity.userId) ?? 0) + 1);
  }
  if (canary?.started) users.set(canary.user, 1);
  return { users, topics: [...topics.names()] };
}

/**
 * Subscribes to the bus, then registers this node (retrying while Redis is out of reach);
 * resolves true once both are done, false if the edge began draining first.
 */
async function joinCluster(
  intake: BusIntake,
  presence: Presence,
  log: Logger,
  draining: () => boolean,
): Promise<boolean> {
  await intake.start();
  for (let attempt = 1; !draining(); attempt++) {
    try {
      await presence.heartbeat();
      return true;
    } catch (err) {
      if (attempt === 1) log.warn({ err }, "cannot register this node yet; retrying until Redis answers");
      await new Promise((r) => setTimeout(r, JOIN_RETRY_MS));
    }
  }
  return false;
}

interface RouteParts {
  pool: ConnectionPool<ClientSocket>;
  topics: TopicInterest;
  held: HeldDeliveries;
  metrics: EdgeMetrics;
  log: Logger;
  /** Why upgrades are refused now, if they are. */
  refusing: () => "draining" | "not_ready" | undefined;
  ready: () => boolean;
}

/** The WebSocket endpoint, the producer API and the ops endpoints. */
function mountRoutes(app: TemplatedApp, options: EdgeOptions, deps: EdgeDeps, parts: RouteParts): void {
  const { pool, topics, held, metrics, log, refusing, ready } = parts;
  const guard = new Guard(metrics, log);
  const handler = socketHandler({
    options,
    pool,
    topics,
    held,
    presence: deps.presence,
    history: deps.history,
    metrics,
    log,
    verifier: new TokenVerifier(options.tokens),
    refusing,
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
    upgrade: guard.route("upgrade", handler.upgrade),
    open: guard.socket("open", handler.open, (ws) => ws.end(CLOSE_CODES.internal.code, "server error")),
    message: guard.socket("message", handler.message, (ws) => ws.end(CLOSE_CODES.internal.code, "server error")),
    close: guard.socket("close", handler.close),
  });
  const apiKeys = new ApiKeys(options.apiKeys);
  const enqueuer = new CoalescingEnqueuer(deps.enqueuer);
  const messages = messageRoute({ ...options, apiKeys, enqueuer, metrics, log, guard });
  app.post("/v1/messages", guard.route("messages", messages));
  app.get("/v1/presence/:user", guard.route("presence", presenceRoute(deps.presence, apiKeys, guard)));
  if (deps.dashboard) mountDashboard(app, { apiKeys, source: deps.dashboard, guard });
  if (deps.demoClientScript !== undefined) mountDemo(app, guard, deps.demoClientScript);
  mountOpsRoutes(app, options.publicMetrics ? deps.registry : undefined, ready, guard);
  app.any(
    "/*",
    guard.route("not_found", (res) => new Reply(res).json(STATUS.notFound, { error: "not_found" })),
  );
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
