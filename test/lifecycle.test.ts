import { type HeraldProcess, waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, msg, ON_CLUSTER } from "./support/gateway.js";

let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({
    env: {
      HERALD_IDLE_TIMEOUT_SECONDS: "2",
      HERALD_DRAIN_SECONDS: "1",
      HERALD_MAX_CONNECTIONS_PER_USER: "2",
      HERALD_MAX_BACKPRESSURE_BYTES: "262144",
      HERALD_QUEUE_CAPACITY: "100000",
    },
  });
});
afterAll(() => g?.stop());

describe("connection lifecycle", () => {
  it("closes an idle connection (4000) and keeps one whose client is active", async () => {
    const idle = await g.connect("idle");
    const active = await g.connect("active");
    const pinger = setInterval(() => active.send({ type: "ping" }), 500);
    try {
      expect(await idle.closed(8000)).toBe(4000);
      expect(active.closeCode).toBeUndefined();
    } finally {
      clearInterval(pinger);
      active.close();
    }
  });

  it("keeps an edge's young generation at V8's initial size; a worker's grows as V8 decides", async () => {
    // An edge with idle connections pays for a grown young generation in RSS and never gets it back
    // (packages/cli/src/young-generation.ts); loading the CLI alone grows an unpinned one 16-fold.
    const youngBytes = (p: HeraldProcess) => g.metric(p, "nodejs_heap_space_size_total_bytes", { space: "new" });
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => g.connect(`young-${i}`)));
    expect(await youngBytes(g.edges[0] as HeraldProcess)).toBe(2 * 2 ** 20);
    expect(await youngBytes(g.workers[0] as HeraldProcess)).toBeGreaterThan(2 * 2 ** 20);
    for (const c of clients) c.close();
  });

  it("announces the heartbeat in welcome and caps connections per user", async () => {
    const a = await g.connect("capped");
    expect(a.frames[0]).toMatchObject({ type: "welcome", userId: "capped", nodeId: "edge-0", heartbeat: 25 });
    const b = await g.connect("capped");
    await expect(g.connect("capped")).rejects.toThrow("HTTP 429");
    a.close();
    await waitFor(
      async () =>
        g.connect("capped").then(
          (c) => c,
          () => undefined,
        ),
      "a slot to free up",
    );
    b.close();
  });

  it("closes with 1013 a client too slow to read, and keeps serving the others", async () => {
    const slow = await g.connect("sloth");
    const quick = await g.connect("hare");
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause(); // stops reading
    const big = "x".repeat(50_000);
    for (let i = 0; i < 20; i++) {
      await g.post({ messages: Array.from({ length: 10 }, () => msg({ user: "sloth" }, "bulk", { data: big })) });
    }
    await g.post(msg({ user: "hare" }, "still-fine"));
    await quick.next((f) => f.event === "still-fine", "the fast client's message");
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closed(15_000)).toBe(1013);
    quick.close();
  });

  // These two reach one Redis by hand (a subscriber killed by name, lines published to a node's channel).
  it.skipIf(ON_CLUSTER)("counts and logs a dropped bus subscriber, and delivers again once it is back", async () => {
    const c = await g.connect("resub");
    const { Redis } = await import("ioredis");
    const admin = new Redis(g.redis.url);
    try {
      // What Redis does to a subscriber past its output-buffer limit.
      await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
      const edge = g.edges[0]!;
      await waitFor(async () => (await g.metric(edge, "herald_bus_reconnects_total")) >= 1, "a counted reconnect");
      await edge.waitForLog((l) => /bus subscriber reconnected/.test(l.msg), "the reconnect warning");
      await waitFor(async () => {
        await g.post(msg({ user: "resub" }, "after-reconnect"));
        return c.messages().some((f) => f.event === "after-reconnect");
      }, "delivery after the reconnect");
    } finally {
      admin.disconnect();
      c.close();
    }
  });

  it.skipIf(ON_CLUSTER)("counts bus lines it cannot decode and keeps delivering the good ones", async () => {
    const c = await g.connect("garbled");
    const { Redis } = await import("ioredis");
    const admin = new Redis(g.redis.url);
    try {
      const edge = g.edges[0]!;
      const before = await g.metric(edge, "herald_bus_malformed_lines_total");
      await admin.publish(`${g.prefix}:deliver:bulk:edge-0`, "not a delivery line\nnor this one");
      await waitFor(
        async () => (await g.metric(edge, "herald_bus_malformed_lines_total")) - before === 2,
        "two malformed lines counted",
      );
      await g.post(msg({ user: "garbled" }, "fine"));
      await c.next((f) => f.event === "fine", "a delivery after the garbage");
    } finally {
      admin.disconnect();
      c.close();
    }
  });

  it("drains on SIGTERM: not ready, clients closed with 1012, exit 0, and messages go to the remaining edge", async () => {
    const second = await g.startEdge({ HERALD_NODE_ID: "edge-drain" });
    const leaving = await g.connect("mover", {}, g.edges.indexOf(second));
    const staying = await g.connect("mover", {}, 0);
    const exit = second.stop("SIGTERM");
    expect(await leaving.closed()).toBe(1012);
    expect(await exit).toBe(0);
    await g.post(msg({ user: "mover" }, "after-drain"));
    await staying.next((f) => f.event === "after-drain", "message on the remaining edge");
    staying.close();
  });
});
