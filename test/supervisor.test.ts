import {
  childPids,
  type HeraldProcess,
  processAlive,
  signToken,
  startHerald,
  startLocalRedis,
  TestClient,
  waitFor,
} from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** `herald all` on several processes: edges sharing the port, workers sharing the queues, one supervisor. */
const SECRET = "supervisor-test-secret-0123456789";
const KEY = "supervisor-test-producer-key-0123";
let redis: Awaited<ReturnType<typeof startLocalRedis>>;
let all: HeraldProcess;
let opsPort: number;

const metrics = async () => (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();

beforeAll(async () => {
  redis = await startLocalRedis();
  all = await startHerald("all", {
    REDIS_URL: redis.url,
    HERALD_JWT_SECRET: SECRET,
    HERALD_API_KEYS: KEY,
    HERALD_PREFIX: "sup",
    HERALD_EDGE_PROCESSES: "2",
    HERALD_WORKER_PROCESSES: "2",
    HERALD_DRAIN_SECONDS: "1", // children stop within seconds once their supervisor is gone
  });
  const running = await all.waitForLog((l) => l.msg === "supervisor running", "supervisor running");
  opsPort = running.port as number;
  await waitFor(() => all.logs.filter((l) => l.msg === "worker running").length === 2, "both workers running");
  await waitFor(() => all.logs.filter((l) => l.msg === "edge listening").length === 2, "both edges listening");
});
afterAll(async () => {
  await all?.stop("SIGTERM");
  await redis?.stop();
});

describe("herald all under its supervisor", () => {
  it("spreads connections over edges that share one port, and delivers through either", async () => {
    const clients = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => TestClient.connect(all.port, await signToken(SECRET, `s${i}`))),
    );
    const nodes = new Set(clients.map((c) => c.frames[0]?.nodeId));
    expect(nodes.size).toBe(2);
    const res = await fetch(`http://127.0.0.1:${all.port}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ messages: clients.map((_, i) => ({ to: { user: `s${i}` }, event: "hi" })) }),
    });
    expect(res.status).toBe(202);
    for (const c of clients) await c.next((f) => f.event === "hi", "the message");
    for (const c of clients) c.close();
  });

  it("serves every process's metrics on its ops port, labelled by node, and is ready when all are", async () => {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status === 200, "ready");
    const text = await metrics();
    const nodesOf = (metric: string) =>
      new Set(
        text
          .split("\n")
          .filter((l) => l.startsWith(`${metric}{`))
          .map((l) => /node="([^"]+)"/.exec(l)?.[1]),
      );
    expect(nodesOf("herald_connections").size).toBe(2);
    expect(nodesOf("herald_build_info").size).toBe(5); // the supervisor, two edges, two workers
    expect(text.match(/^# TYPE herald_connections /gm)).toHaveLength(1);
  });

  it("starts a child that dies again, and takes every child down when it is itself killed", async () => {
    const before = childPids(all.pid);
    expect(before).toHaveLength(4);
    process.kill(before[0] as number, "SIGKILL");
    await waitFor(async () => /herald_supervisor_restarts_total\{[^}]*\} 1/.test(await metrics()), "a restart", 20_000);
    await waitFor(
      () => childPids(all.pid).length === 4 && !processAlive(before[0] as number),
      "four children again",
      20_000,
    );
    const now = childPids(all.pid);
    await all.stop("SIGKILL");
    await waitFor(() => now.every((pid) => !processAlive(pid)), "every child gone with the supervisor", 45_000);
  }, 120_000);
});
