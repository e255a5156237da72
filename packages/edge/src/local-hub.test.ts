import { Registry } from "@herald/observability";
import { CLOSE_CODES, type Delivery } from "@herald/protocol";
import { RecordingSocket } from "@herald/testkit";
import { describe, expect, it } from "vitest";
import { newConnection } from "./connection.js";
import { ConnectionPool } from "./connection-pool.js";
import { EdgeMetrics } from "./edge-metrics.js";
import { LocalHub, type TopicPublisher } from "./local-hub.js";
import type { ClientSocket, Conn } from "./socket/client-socket.js";

/** uWS's topic publishing, recorded: what was published, in order with the sockets' own writes. */
class RecordingPublisher implements TopicPublisher {
  readonly subscribers = new Map<string, RecordingSocket[]>();
  constructor(private readonly log: string[]) {}
  publish(topic: string, frame: string): boolean {
    this.log.push(`publish ${topic} ${frame}`);
    for (const s of this.subscribers.get(topic) ?? []) s.send(frame);
    return true;
  }
  numSubscribers(topic: string): number {
    return this.subscribers.get(topic)?.length ?? 0;
  }
}

const MAX_BUFFERED = 1000;

function setUp() {
  const order: string[] = [];
  const registry = new Registry();
  const metrics = new EdgeMetrics(
    registry,
    () => 0,
    () => 0,
  );
  const pool = new ConnectionPool<ClientSocket>({ maxConnections: 10, maxConnectionsPerUser: 5 });
  const publisher = new RecordingPublisher(order);
  const hub = new LocalHub(publisher, pool, metrics, MAX_BUFFERED);
  const open = (user: string) => {
    pool.admit(user);
    const conn: Conn = newConnection(`c${pool.size}`, { userId: user, channels: [], expiresAt: undefined }, 0, 10);
    const ws = new RecordingSocket();
    const send = ws.send.bind(ws);
    ws.send = (text: string) => {
      order.push(`${user} ${text}`);
      return send(text);
    };
    conn.socket = ws;
    conn.state = "open";
    pool.add(conn);
    return { conn, ws };
  };
  return { hub, open, publisher, order, registry };
}

const toUser = (user: string, frame: string): Delivery => ({
  kind: "user",
  target: user,
  priority: "high",
  ts: 0,
  frame,
});

describe("LocalHub", () => {
  it("writes a user's deliveries to every connection of that user, once per flush, in one cork each", () => {
    const { hub, open } = setUp();
    const a1 = open("ann");
    const a2 = open("ann");
    const b = open("ben");
    hub.deliver(toUser("ann", "m1"));
    hub.deliver(toUser("ann", "m2"));
    hub.deliver(toUser("nobody", "m3"));
    expect(a1.ws.sent).toEqual([]); // gathered until the flush
    hub.flush();
    expect(a1.ws.sent).toEqual(["m1", "m2"]);
    expect(a2.ws.sent).toEqual(["m1", "m2"]);
    expect(b.ws.sent).toEqual([]);
    expect([a1.ws.corks, a2.ws.corks]).toEqual([1, 1]);
  });

  it("writes user deliveries gathered before a topic publish first, keeping arrival order", () => {
    const { hub, open, publisher, order } = setUp();
    const a = open("ann");
    publisher.subscribers.set("room:1", [a.ws]);
    hub.deliver(toUser("ann", "before"));
    hub.deliver({ kind: "topic", target: "room:1", priority: "low", ts: 0, frame: "topic" });
    hub.deliver(toUser("ann", "after"));
    hub.flush();
    expect(order).toEqual(["ann before", "publish room:1 topic", "ann topic", "ann after"]);
  });

  it("skips a topic nobody here subscribes to, and closes a socket too slow to read with 1013", async () => {
    const { hub, open, order, registry } = setUp();
    const slow = open("sam");
    hub.deliver({ kind: "topic", target: "room:empty", priority: "low", ts: 0, frame: "x" });
    slow.ws.buffered = MAX_BUFFERED + 1;
    hub.deliver(toUser("sam", "m"));
    hub.flush();
    expect(order).toEqual(["sam m"]);
    expect(slow.ws.closed?.code).toBe(CLOSE_CODES.tryAgain.code);
    const delivered = await registry.getSingleMetric("herald_messages_delivered_total")?.get();
    expect(delivered?.values.find((v) => v.labels.priority === "high")?.value).toBe(1);
  });
});
