import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, msg } from "./support/gateway.js";

/** The operator dashboard's data: every process's metrics and the dead letters, from Redis. */
const handlers = new URL("./fixtures/handlers.mjs", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "herald-dashboard-"));
const flag = join(dir, "fixed");
let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({
    edges: 1,
    workers: 1,
    env: { HERALD_DASHBOARD: "1", HERALD_HANDLERS: handlers, TEST_FLAG_FILE: flag, HERALD_MAX_ATTEMPTS: "1" },
  });
});
afterAll(async () => {
  await g?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Snapshot {
  nodes: {
    node: string;
    role: string;
    stats: { metrics: Record<string, { labels: Record<string, string>; value: number }[]> };
  }[];
  deadLetters: { count: number; latest: { entryId: string; message: { event: string } }[] };
}
const api = (path: string, init: RequestInit = {}, key = g.apiKey) =>
  fetch(`http://127.0.0.1:${g.port}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });
const snapshot = async () => (await (await api("/v1/dashboard")).json()) as Snapshot;
const delivered = (s: Snapshot) =>
  s.nodes
    .filter((n) => n.role === "edge")
    .flatMap((n) => n.stats.metrics.herald_messages_delivered_total ?? [])
    .reduce((sum, x) => sum + x.value, 0);

describe("operator dashboard", () => {
  it("serves its page, and its data only with a producer key", async () => {
    const page = await fetch(`http://127.0.0.1:${g.port}/dashboard`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("operator dashboard");
    expect((await api("/v1/dashboard", {}, "wrong-key")).status).toBe(401);
    expect((await api("/v1/dashboard/redrive", { method: "POST", body: "{}" }, "wrong-key")).status).toBe(401);
  });

  it("shows every process, and a delivered count that grows", async () => {
    const roles = await waitFor(async () => {
      const s = await snapshot();
      const found = s.nodes.map((n) => `${n.role}:${n.node}`).sort();
      return found.length === 2 ? found : undefined;
    }, "both processes' stats");
    expect(roles).toEqual(["edge:edge-0", "worker:worker-0"]);
    const before = delivered(await snapshot());
    const c = await g.connect("watched");
    await g.post(msg({ user: "watched" }, "counted"));
    await c.next((f) => f.event === "counted", "the message");
    await waitFor(async () => delivered(await snapshot()) > before, "the delivered count to grow");
    c.close();
  });

  it("lists dead letters and re-drives them", async () => {
    const c = await g.connect("fixer");
    await g.post(msg({ user: "fixer" }, "broken"));
    const dead = await waitFor(async () => {
      const s = await snapshot();
      return s.deadLetters.latest.find((d) => d.message.event === "broken");
    }, "the dead letter");
    writeFileSync(flag, "fixed");
    const res = await api("/v1/dashboard/redrive", {
      method: "POST",
      body: JSON.stringify({ entryIds: [dead.entryId] }),
    });
    expect(await res.json()).toEqual({ redriven: 1 });
    await c.next((f) => f.event === "broken", "the re-driven message");
    expect((await api("/v1/dashboard/redrive", { method: "POST", body: '{"entryIds":"x"}' })).status).toBe(400);
    c.close();
  });
});
