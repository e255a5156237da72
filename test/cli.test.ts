import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  type HeraldProcess,
  type LocalRedis,
  processAlive,
  startHerald,
  startLocalRedis,
  TestClient,
  waitFor,
} from "@herald/testkit";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const cli = fileURLToPath(new URL("../packages/cli/bin/herald.js", import.meta.url));
/** Nothing listens there: an explicit REDIS_URL that does not answer. */
const UNREACHABLE = "redis://127.0.0.1:1";
const SECRET = "a-configured-jwt-secret-0123456789";
const KEY = "a-configured-producer-key-0123456789";

/** With the dev mode's printed token and key: a message sent over HTTP reaches the sample user's socket. */
async function devRoundTrip(all: HeraldProcess, event: string): Promise<void> {
  const dev = await all.waitForLog((l) => l.msg.startsWith("dev mode"), "dev-mode secrets");
  const client = await TestClient.connect(all.port, dev.sampleToken as string);
  const res = await fetch(`http://127.0.0.1:${all.port}/v1/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${dev.apiKey}` },
    body: JSON.stringify({ to: { user: "alice" }, event }),
  });
  expect(res.status).toBe(202);
  await client.next((f) => f.event === event, event);
  client.close();
}

describe("herald CLI start-up", () => {
  it("stops cleanly on a signal that arrives during start-up", async () => {
    const all = await startHerald("all", { REDIS_URL: UNREACHABLE, HERALD_PREFIX: "clitest2" }, { until: "bound" });
    expect(await all.stop("SIGTERM")).toBe(0);
  });

  it("names the bad variable and exits 2, without printing a secret", async () => {
    const err = await run(process.execPath, [cli, "edge"], {
      env: { PATH: process.env.PATH, HERALD_PORT: "eighty", HERALD_JWT_SECRET: "short", HERALD_API_KEYS: "tiny,keys" },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    const { stderr } = err as { stderr: string };
    expect(stderr).toMatch(/HERALD_PORT="eighty"/);
    expect(stderr).toMatch(/HERALD_JWT_SECRET=\(hidden\): must be at least 16/);
    expect(stderr).toMatch(/HERALD_API_KEYS=\(hidden\)/);
    expect(stderr).not.toMatch(/short|tiny/);
  });

  it("never replaces an explicit REDIS_URL: the node is up, not ready, and turns producers away", async () => {
    const all = await startHerald(
      "all",
      { REDIS_URL: "redis://user:hunter2-password@127.0.0.1:1", HERALD_API_KEYS: KEY, HERALD_PREFIX: "clitest3" },
      { until: "bound" },
    );
    try {
      const base = `http://127.0.0.1:${all.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      const res = await fetch(`${base}/v1/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ to: { user: "alice" }, event: "hello" }),
      });
      expect(res.status).toBe(503);
      expect(all.logs.some((l) => /private redis-server/.test(l.msg))).toBe(false);
      expect(all.text()).not.toMatch(/hunter2/);
      expect(JSON.stringify(all.logs)).not.toMatch(/hunter2/);
    } finally {
      expect(await all.stop("SIGTERM")).toBe(0);
    }
  });

  it("becomes ready, and serves, once an explicit REDIS_URL that was down answers", async () => {
    const first = await startLocalRedis();
    const { port, url } = first;
    await first.stop();
    const all = await startHerald("all", { REDIS_URL: url, HERALD_PREFIX: "clitest4" }, { until: "bound" });
    let redis: LocalRedis | undefined;
    try {
      expect((await fetch(`http://127.0.0.1:${all.port}/readyz`)).status).toBe(503);
      redis = await startLocalRedis({ port });
      await all.waitForLog((l) => l.msg === "edge listening", "the edge live", 30_000);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${all.port}/readyz`)).status === 200, "ready", 30_000);
      await devRoundTrip(all, "late");
    } finally {
      expect(await all.stop("SIGTERM")).toBe(0);
      await redis?.stop();
    }
  }, 60_000);

  it("in dev mode starts a private redis-server when asked, and prints a working token", async () => {
    const all = await startHerald("all", { HERALD_DEV_REDIS: "private", HERALD_PREFIX: "clitest" });
    try {
      const dev = await all.waitForLog((l) => l.msg.startsWith("dev mode"), "dev-mode secrets");
      expect(all.logs.some((l) => /started a private redis-server/.test(l.msg))).toBe(true);
      await waitFor(() => all.text().includes("Producer key:"), "the dev banner on stderr");
      expect(dev.sampleToken).toBeDefined();
      await devRoundTrip(all, "hello");
    } finally {
      expect(await all.stop("SIGTERM")).toBe(0);
    }
  });

  it("in dev mode prints only what it generated: never a configured key, nor a token signed with a configured secret", async () => {
    const keyOnly = await startHerald("all", { HERALD_DEV_REDIS: "private", HERALD_API_KEYS: KEY, HERALD_PREFIX: "k" });
    const secretOnly = await startHerald("all", {
      HERALD_DEV_REDIS: "private",
      HERALD_JWT_SECRET: SECRET,
      HERALD_PREFIX: "s",
    });
    try {
      await waitFor(() => keyOnly.text().includes("WebSocket:"), "a token for the generated secret");
      expect(keyOnly.text()).not.toContain(KEY);
      expect(keyOnly.text()).not.toContain("Producer key:");
      expect(JSON.stringify(keyOnly.logs)).not.toContain(KEY);
      await waitFor(() => secretOnly.text().includes("Producer key:"), "the generated producer key");
      expect(secretOnly.text()).not.toContain("WebSocket:");
      expect(secretOnly.logs.find((l) => l.msg.startsWith("dev mode"))?.sampleToken).toBeUndefined();
    } finally {
      await Promise.all([keyOnly.stop("SIGTERM"), secretOnly.stop("SIGTERM")]);
    }
  });

  it("stops its private redis-server when it exits on an error", async () => {
    const err = await run(process.execPath, [cli, "all"], {
      env: {
        PATH: process.env.PATH,
        HERALD_DEV_REDIS: "private",
        HERALD_PORT: "0",
        HERALD_HANDLERS: "/nonexistent.mjs",
      },
    }).catch((e: { code: number; stdout: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    const started = (err as { stdout: string }).stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => /started a private redis-server/.test(l.msg));
    expect(started?.pid).toBeGreaterThan(0);
    await waitFor(() => !processAlive(started.pid), "the private redis-server to be gone");
  });

  it("takes its private redis-server down with it when it is SIGKILLed", async () => {
    const all = await startHerald("all", { HERALD_DEV_REDIS: "private", HERALD_PREFIX: "clitest5" });
    const started = all.logs.find((l) => /started a private redis-server/.test(l.msg));
    expect(started?.pid).toBeGreaterThan(0);
    await all.stop("SIGKILL");
    await waitFor(() => !processAlive(started?.pid as number), "the private redis-server to be gone");
  });

  it("says how to get Redis when a private one is needed and no redis-server is on the PATH", async () => {
    const err = await run(process.execPath, [cli, "all"], {
      env: { PATH: "/nonexistent", HERALD_DEV_REDIS: "private" },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(
      /no redis-server is on the PATH.*apt-get install -y redis-server/,
    );
  });
});
