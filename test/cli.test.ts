import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startHerald, TestClient, waitFor } from "@herald/testkit";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const cli = fileURLToPath(new URL("../packages/cli/bin/herald.js", import.meta.url));

describe("herald CLI start-up", () => {
  it("stops cleanly on a signal that arrives during start-up", async () => {
    const all = await startHerald("all", { REDIS_URL: "redis://127.0.0.1:1", HERALD_PREFIX: "clitest2" });
    expect(await all.stop("SIGTERM")).toBe(0);
  });

  it("names the bad variable and exits 2", async () => {
    const err = await run(process.execPath, [cli, "edge"], {
      env: { PATH: process.env.PATH, HERALD_PORT: "eighty", HERALD_JWT_SECRET: "short" },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/HERALD_PORT="eighty"/);
    expect((err as { stderr: string }).stderr).toMatch(/HERALD_JWT_SECRET="short": must be at least 16/);
  });

  it("in dev mode starts a private redis-server when REDIS_URL does not answer, and prints a working token", async () => {
    const all = await startHerald("all", { REDIS_URL: "redis://127.0.0.1:1", HERALD_PREFIX: "clitest" });
    try {
      const dev = await all.waitForLog((l) => l.msg.startsWith("dev mode"), "dev-mode secrets");
      expect(all.logs.some((l) => /started a private redis-server/.test(l.msg))).toBe(true);
      await waitFor(() => all.text().includes("Producer key:"), "the dev banner on stderr");
      const client = await TestClient.connect(all.port, dev.sampleToken as string);
      const res = await fetch(`http://127.0.0.1:${all.port}/v1/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${dev.apiKey}` },
        body: JSON.stringify({ to: { user: "alice" }, event: "hello" }),
      });
      expect(res.status).toBe(202);
      await client.next((f) => f.event === "hello", "hello");
      client.close();
    } finally {
      expect(await all.stop("SIGTERM")).toBe(0);
    }
  });

  it("says how to get Redis when none answers and no redis-server is on the PATH", async () => {
    const err = await run(process.execPath, [cli, "all"], {
      env: { PATH: "/nonexistent", REDIS_URL: "redis://127.0.0.1:1" },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(
      /no redis-server is on the PATH.*apt-get install -y redis-server/,
    );
  });
});
