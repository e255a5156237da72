import { setImmediate as nextTurn } from "node:timers/promises";
import { createLogger, Registry } from "@herald/observability";
import { CLOSE_CODES, type Delivery, decodeDeliveries, formatId, HistoryPolicy, type Priority } from "@herald/protocol";
import { MemoryRouting, type Presence } from "@herald/routing";
import { RecordingSocket } from "@herald/testkit";
import { describe, expect, it } from "vitest";
import { newConnection } from "../connection.js";
import { ConnectionPool } from "../connection-pool.js";
import { EdgeMetrics } from "../edge-metrics.js";
import { HeldDeliveries } from "../held-deliveries.js";
import { TopicInterest } from "../topic-interest.js";
import { MAX_EARLY_FRAMES, receiveFrame } from "./client-frames.js";
import type { ClientSocket, Conn } from "./client-socket.js";
import { closeConnection, openConnection } from "./lifecycle.js";
import type { SocketContext } from "./socket-context.js";

/**
 * The socket handler's parts against the in-memory routing (which passes the same
 * conformance suite as Redis) and a recording socket: frames, subscriptions, limits and
 * close paths, with no network and no Redis.
 */
const OPTIONS = {
  nodeId: "node-1",
  heartbeatSeconds: 25,
  maxFrameBytes: 1024,
  framesPerSecond: 5,
  frameBurst: 10,
  maxSubscriptions: 2,
  replayLimit: 100,
  maxBackpressureBytes: 1 << 20,
};

function setUp(presence?: Presence, routing = new MemoryRouting()) {
  const p = presence ?? routing.presence(OPTIONS.nodeId);
  const registry = new Registry();
  const ctx: SocketContext = {
    options: OPTIONS,
    pool: new ConnectionPool<ClientSocket>({ maxConnections: 10, maxConnectionsPerUser: 3 }),
    topics: new TopicInterest(
      (t) => p.addSubscriber(t),
      (t) => p.removeSubscriber(t),
      (err) => {
        throw err;
      },
    ),
    presence: p,
    history: routing.history(),
    held: new HeldDeliveries(),
    metrics: new EdgeMetrics(
      registry,
      () => 0,
      () => 0,
    ),
    log: createLogger("silent"),
  };
  return { routing, ctx, registry };
}

/** An admitted connection with its socket open (welcome not yet sent: registration is in flight). */
function connect(ctx: SocketContext, user = "ann", channels: string[] = ["room:*"]) {
  expect(ctx.pool.admit(user)).toBe("ok");
  const conn: Conn = newConnection(
    "c-" + Math.random(),
    { userId: user, channels, expiresAt: undefined },
    0,
    OPTIONS.frameBurst,
  );
  const ws = new RecordingSocket();
  openConnection(ctx, conn, ws);
  return { conn, ws };
}

/** Waits until the in-memory presence has answered everything asked of it so far. */
const settled = async () => {
  for (let i = 0; i < 3; i++) await nextTurn();
};

const send = (ctx: SocketContext, conn: Conn, frame: unknown, now = 0) => {
  const text = typeof frame === "string" ? frame : JSON.stringify(frame);
  receiveFrame(ctx, conn, text, Buffer.byteLength(text), now);
};

describe("opening a connection", () => {
  it("sends welcome only once the user is registered, then answers early frames in order", async () => {
    const { routing, ctx } = setUp();
    const { conn, ws } = connect(ctx);
    send(ctx, conn, { type: "ping" });
    send(ctx, conn, { type: "subscribe", channel: "room:1" });
    expect(ws.sent).toEqual([]); // held until welcome
    await settled();
    expect((await routing.presence("other").lookup("ann")).connections).toBe(0); // not live: no heartbeat yet
    await ctx.presence.heartbeat();
    expect((await routing.presence("other").lookup("ann")).connections).toBe(1);
    const types = ws.frames().map((f) => f.type);
    expect(types).toEqual(["welcome", "pong", "subscribed"]);
    expect(ws.frames()[0]).toMatchObject({ userId: "ann", nodeId: "node-1", heartbeat: 25 });
    expect(ws.topics.has("broadcast")).toBe(true);
  });

  it("answers a `since` the history does not hold with history_gap, right after welcome", async () => {
    const { ctx } = setUp();
    ctx.pool.admit("ann");
    const conn: Conn = newConnection("c", { userId: "ann", channels: [], expiresAt: undefined }, 0, 10);
    conn.resumeFrom = "0000000000000";
    const ws = new RecordingSocket();
    openConnection(ctx, conn, ws);
    await settled();
    expect(ws.frames()[1]).toMatchObject({ type: "error", code: "history_gap", channel: "user:ann" });
  });

  it("closes with 1011 when the registration fails", async () => {
    const failing: Presence = {
      ...new MemoryRouting().presence("x"),
      addConnection: () => Promise.reject(new Error("Redis down")),
    };
    const { ctx } = setUp(failing);
    const { ws } = connect(ctx);
    await settled();
    expect(ws.closed?.code).toBe(CLOSE_CODES.internal.code);
    expect(ws.sent).toEqual([]);
  });

  it("closes a client that sends too many frames before welcome with 1008", () => {
    const { ctx } = setUp();
    const { conn, ws } = connect(ctx);
    for (let i = 0; i <= MAX_EARLY_FRAMES; i++) send(ctx, conn, { type: "ping" }, i * 1000);
    expect(ws.closed?.code).toBe(CLOSE_CODES.policy.code);
  });
});

describe("client frames", () => {
  async function live() {
    const s = setUp();
    const c = connect(s.ctx);
    await settled();
    c.ws.sent.length = 0;
    return { ...s, ...c };
  }

  it("answers bad JSON, unknown types and binary frames with bad_frame, and keeps the connection", async () => {
    const { ctx, conn, ws, registry } = await live();
    send(ctx, conn, "{not json");
    send(ctx, conn, { type: "dance" });
    receiveFrame(ctx, conn, undefined, 4, 0);
    expect(ws.frames().map((f) => f.code)).toEqual(["bad_frame", "bad_frame", "bad_frame"]);
    expect(ws.closed).toBeUndefined();
    const errors = await registry.getSingleMetric("herald_client_frame_errors_total")?.get();
    expect(errors?.values.find((v) => v.labels.code === "bad_frame")?.value).toBe(3);
  });

  it("closes an oversize frame with 1009", async () => {
    const { ctx, conn, ws } = await live();
    receiveFrame(ctx, conn, undefined, OPTIONS.maxFrameBytes + 1, 0);
    expect(ws.closed?.code).toBe(CLOSE_CODES.tooBig.code);
  });

  it("warns a flooding client once with rate_limited, then closes it with 1008", async () => {
    const { ctx, conn, ws } = await live();
    for (let i = 0; i < OPTIONS.frameBurst + 1; i++) send(ctx, conn, { type: "ping" }, 0);
    expect(ws.frames().filter((f) => f.code === "rate_limited")).toHaveLength(1);
    expect(ws.closed).toBeUndefined();
    for (let i = 0; i < OPTIONS.frameBurst; i++) send(ctx, conn, { type: "ping" }, 0);
    expect(ws.closed?.code).toBe(CLOSE_CODES.policy.code);
  });
});

describe("subscriptions", () => {
  async function live(channels = ["room:*"]) {
    const s = setUp();
    const c = connect(s.ctx, "ann", channels);
    await settled();
    await s.ctx.presence.heartbeat();
    c.ws.sent.length = 0;
    return { ...s, ...c };
  }
  const topicRouted = (routing: MemoryRouting, topic: string) =>
    routing
      .bus()
      .deliver({
        deliveries: [{ kind: "topic", target: topic, priority: "low", ts: 0, frame: "{}" }],
        priority: "low",
        release: 0,
      })
      .then(({ unrouted }) => unrouted === 0);

  it("answers subscribed once the node is registered for the topic, and routes it here from then on", async () => {
    const { routing, ctx, conn, ws } = await live();
    send(ctx, conn, { type: "subscribe", channel: "room:1" });
    expect(ws.topics.has("room:1")).toBe(true);
    expect(ws.sent).toEqual([]); // not yet: the registration is in flight
    await settled();
    expect(ws.frames()).toEqual([{ type: "subscribed", channel: "room:1" }]);
    expect(await topicRouted(routing, "room:1")).toBe(true);
  });

  it("refuses a topic the token does not allow, a malformed one, and one past the limit", async () => {
    const { ctx, conn, ws } = await live();
    send(ctx, conn, { type: "subscribe", channel: "secret:1" });
    send(ctx, conn, { type: "subscribe", channel: "room:*" });
    send(ctx, conn, { type: "subscribe", channel: "room:1" });
    send(ctx, conn, { type: "subscribe", channel: "room:2" });
    send(ctx, conn, { type: "subscribe", channel: "room:3" });
    await settled();
    const codes = ws.frames().map((f) => f.code ?? f.type);
    expect(codes).toEqual(["forbidden", "bad_frame", "too_many_subscriptions", "subscribed", "subscribed"]);
  });

  it("registers a topic once for two subscribers, and leaves it when the last one goes", async () => {
    const { routing, ctx, conn, ws } = await live();
    const other = connect(ctx, "ben");
    await settled();
    send(ctx, conn, { type: "subscribe", channel: "room:1" });
    send(ctx, other.conn, { type: "subscribe", channel: "room:1" });
    await settled();
    send(ctx, conn, { type: "unsubscribe", channel: "room:1" });
    await settled();
    expect(ws.frames().at(-1)).toEqual({ type: "unsubscribed", channel: "room:1" });
    expect(await topicRouted(routing, "room:1")).toBe(true); // ben is still subscribed
    closeConnection(ctx, other.conn);
    await settled();
    expect(await topicRouted(routing, "room:1")).toBe(false);
  });

  it("confirms the user's own channel and broadcast without registering anything", async () => {
    const { ctx, conn, ws } = await live([]);
    send(ctx, conn, { type: "subscribe", channel: "user:ann" });
    send(ctx, conn, { type: "subscribe", channel: "broadcast" });
    expect(ws.frames().map((f) => f.type)).toEqual(["subscribed", "subscribed"]);
  });
});

describe("closing a connection", () => {
  it("gives back its pool slot, its topics and its presence", async () => {
    const { routing, ctx } = setUp();
    const { conn, ws } = connect(ctx);
    await settled();
    await ctx.presence.heartbeat();
    send(ctx, conn, { type: "subscribe", channel: "room:9" });
    await settled();
    closeConnection(ctx, conn);
    await settled();
    expect(ctx.pool.size).toBe(0);
    expect(conn.state).toBe("closed");
    expect((await routing.presence("other").lookup("ann")).online).toBe(false);
    send(ctx, conn, { type: "ping" }); // a frame racing the close is ignored
    expect(ws.frames().filter((f) => f.type === "pong")).toHaveLength(0);
  });
});

describe("races with Redis", () => {
  it("does not uncount a connection whose registration failed, so the user's other connection keeps receiving", async () => {
    const routing = new MemoryRouting();
    const real = routing.presence(OPTIONS.nodeId);
    let failNext = false;
    const flaky: Presence = {
      ...real,
      addConnection: (user) => (failNext ? Promise.reject(new Error("Redis fast-failed")) : real.addConnection(user)),
      removeConnection: (user) => real.removeConnection(user),
      heartbeat: () => real.heartbeat(),
      lookup: (user) => real.lookup(user),
    };
    const { ctx } = setUp(flaky);
    await flaky.heartbeat();
    connect(ctx, "ann");
    await settled();
    failNext = true;
    const second = connect(ctx, "ann");
    await settled();
    expect(second.ws.closed?.code).toBe(CLOSE_CODES.internal.code);
    closeConnection(ctx, second.conn); // what uWS calls once the socket is closed
    await settled();
    expect((await real.lookup("ann")).connections).toBe(1);
  });

  it("answers a repeated subscribe only once the first registration is live", async () => {
    let land!: () => void;
    const routing = new MemoryRouting();
    const real = routing.presence(OPTIONS.nodeId);
    const slow: Presence = {
      ...real,
      addConnection: (u) => real.addConnection(u),
      heartbeat: () => real.heartbeat(),
      addSubscriber: (t) => new Promise<number>((resolve) => (land = () => resolve(1))),
    };
    const { ctx } = setUp(slow);
    const { conn, ws } = connect(ctx);
    await settled();
    ws.sent.length = 0;
    send(ctx, conn, { type: "subscribe", channel: "room:1" });
    send(ctx, conn, { type: "subscribe", channel: "room:1" });
    await settled();
    expect(ws.frames()).toEqual([]); // neither is live yet
    land();
    await settled();
    expect(ws.frames()).toEqual([
      { type: "subscribed", channel: "room:1" },
      { type: "subscribed", channel: "room:1" },
    ]);
  });
});

describe("catching up with since", () => {
  const frameOf = (n: number) => `{"type":"message","id":"${formatId(1000 + n, 0)}","n":${n}}`;
  const toAnn = (n: number, priority: Priority = "low"): Delivery => ({
    kind: "user",
    target: "ann",
    priority,
    ts: 0,
    id: formatId(1000 + n, 0),
    frame: frameOf(n),
  });

  /** A setup whose history answers only once `open` is called, and whose node takes ann's deliveries. */
  async function withGatedHistory() {
    const routing = new MemoryRouting({ history: new HistoryPolicy() });
    const s = setUp(routing.presence(OPTIONS.nodeId), routing);
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const real = routing.history();
    s.ctx.history = {
      resume: async (...args) => gate.then(() => real.resume(...args)),
      ack: (u, id) => real.ack(u, id),
    };
    await routing.subscriber(OPTIONS.nodeId).start({
      onPayload: (_lane, payload) =>
        decodeDeliveries(payload, (d) => {
          for (const conn of s.ctx.pool.connectionsOf(d.target)) s.ctx.held.heldForUser(conn, d);
        }),
      onResubscribed: () => undefined,
    });
    await s.ctx.presence.heartbeat();
    return { ...s, routing, open };
  }

  it("sends the replay, then what arrived live meanwhile, each message once", async () => {
    const { routing, ctx, open } = await withGatedHistory();
    const bus = routing.bus();
    await bus.deliver({ deliveries: [1, 2, 3, 4].map((n) => toAnn(n)), priority: "low", release: 0 });
    ctx.pool.admit("ann");
    const conn: Conn = newConnection("c", { userId: "ann", channels: [], expiresAt: undefined }, 0, 10);
    conn.resumeFrom = formatId(1002, 0);
    const ws = new RecordingSocket();
    openConnection(ctx, conn, ws);
    await settled(); // registered and welcomed; the history read waits at the gate
    // Published after the registration: live (held), and in history too, as the read comes later.
    await bus.deliver({ deliveries: [toAnn(5)], priority: "low", release: 0 });
    await settled();
    expect(conn.held?.get("user:ann")?.held?.length).toBe(1);
    open();
    await settled();
    const ns = ws
      .frames()
      .filter((f) => f.type === "message")
      .map((f) => f.n);
    expect(ns).toEqual([3, 4, 5]);
    expect(conn.held?.get("user:ann")?.held).toBeUndefined(); // taken: live from here on
    // A live copy of a replayed message arriving late (it was published before the read) is dropped.
    expect(ctx.held.heldForUser(conn, toAnn(4))).toBe(true);
    expect(ctx.held.heldForUser(conn, toAnn(6))).toBe(false);
  });

  it("re-sends unacknowledged critical messages first, without repeating one that also arrived live", async () => {
    const { routing, ctx, open } = await withGatedHistory();
    const bus = routing.bus();
    await bus.deliver({ deliveries: [toAnn(1, "critical")], priority: "critical", release: 0 });
    ctx.pool.admit("ann");
    const conn: Conn = newConnection("c", { userId: "ann", channels: [], expiresAt: undefined }, 0, 10);
    const ws = new RecordingSocket();
    openConnection(ctx, conn, ws);
    await settled();
    await bus.deliver({ deliveries: [toAnn(2, "critical")], priority: "critical", release: 0 });
    await settled();
    open();
    await settled();
    expect(
      ws
        .frames()
        .filter((f) => f.type === "message")
        .map((f) => f.n),
    ).toEqual([1, 2]);
  });
});
