import { closeRedis, connectRedis } from "@herald/redis";
import { type HeraldProcess, type TestClient, waitFor } from "@herald/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { Gateway, msg, ON_CLUSTER } from "./support/gateway.js";

/**
 * An edge that stops reading (here: SIGSTOP, as a GC pause or a starved CPU would, only
 * longer) while workers publish 30 MB to it. Redis is set to drop a subscriber holding
 * more than 12 MB, as its client-output-buffer-limit would at some size in production.
 */
const USERS = 6;
const MESSAGES = 30_000;
const PAD = "x".repeat(1000);
const REDIS_LIMIT = "pubsub 12mb 0 0";

let g: Gateway | undefined;
afterEach(async () => {
  await g?.stop();
  g = undefined;
});

async function floodStoppedEdge(busBacklogBytes: string) {
  g = await Gateway.start({
    workers: 0,
    env: {
      HERALD_BUS_BACKLOG_BYTES: busBacklogBytes,
      HERALD_QUEUE_CAPACITY: String(MESSAGES),
      // The test's clients read slower than a resumed edge writes: this test is about the bus.
      HERALD_MAX_BACKPRESSURE_BYTES: String(256 << 20),
    },
  });
  for (const url of g.serverUrls) {
    const admin = connectRedis(url, { name: "test-admin" });
    await admin.config("SET", "client-output-buffer-limit", REDIS_LIMIT);
    await closeRedis(admin);
  }

  const clients: TestClient[] = [];
  for (let u = 0; u < USERS; u++) clients.push(await g.connect(`reader${u}`));
  const producer = g.producer({ capacity: MESSAGES });
  for (let at = 0; at < MESSAGES; at += 1000) {
    await producer.sendMany(
      Array.from({ length: 1000 }, (_, i) => msg({ user: `reader${(at + i) % USERS}` }, "bulk", { data: PAD })),
    );
  }
  await producer.close();

  const edge = g.edges[0];
  if (!edge) throw new Error("no edge");
  process.kill(edge.pid, "SIGSTOP");
  let paused = 0;
  let worker: HeraldProcess | undefined;
  try {
    const w = await g.startWorker();
    worker = w;
    const gw = g;
    // Until the worker has paused the lane, or published everything to a reader that takes nothing.
    await waitFor(
      async () =>
        (await gw.metric(w, "herald_worker_lane_paused", { lane: "bulk" })) === 1 ||
        (await gw.metric(w, "herald_queue_waiting")) === 0,
      "the bulk lane paused, or the queue published",
      60_000,
    );
    paused = await g.metric(w, "herald_worker_lane_paused", { lane: "bulk" });
  } finally {
    process.kill(edge.pid, "SIGCONT");
  }
  const gateway = g;
  const received = () => clients.reduce((n, c) => n + c.messages().length, 0);
  // Delivered, or (without backpressure) settled: the count stops moving once the queue is empty.
  let last = -1;
  await waitFor(
    async () => {
      const n = received();
      const settled = n === last && worker && (await gateway.metric(worker, "herald_queue_waiting")) === 0;
      last = n;
      return n === MESSAGES || settled ? true : undefined;
    },
    "deliveries to finish",
    60_000,
    1000,
  );
  const reconnects = await gateway.metric(edge, "herald_bus_reconnects_total");
  for (const c of clients) c.close();
  return { received: received(), paused, reconnects };
}

describe("backpressure from edges to workers", () => {
  it("holds workers back while an edge is not reading, and loses nothing", async () => {
    const r = await floodStoppedEdge("1048576");
    expect(r.paused).toBe(1);
    expect(r.reconnects).toBe(0);
    expect(r.received).toBe(MESSAGES);
  }, 120_000);

  // On a cluster the flood spreads over three masters' buffers for the edge, each under the limit.
  it.skipIf(ON_CLUSTER)(
    "without it, Redis drops the stopped edge's subscriber and deliveries are lost (the test above can fail)",
    async () => {
      const r = await floodStoppedEdge("0");
      expect(r.paused).toBe(0);
      expect(r.reconnects).toBeGreaterThan(0);
      expect(r.received).toBeLessThan(MESSAGES);
    },
    120_000,
  );
});
