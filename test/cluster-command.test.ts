import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { childPids, processAlive, TestClient, waitFor } from "@herald/testkit";
import { afterAll, describe, expect, it } from "vitest";

/** `npm run cluster`: the local cluster operators and benchmarks start, as the README tells. */
const SCRIPT = fileURLToPath(new URL("../scripts/cluster/run.mjs", import.meta.url));
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill("SIGKILL");
});

describe("npm run cluster", () => {
  it("starts the edges and workers asked for, prints what to use them with, and stops them all on Ctrl-C", async () => {
    child = spawn(process.execPath, [SCRIPT, "--edges", "2", "--workers", "1"], {
      env: { PATH: process.env.PATH ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
    });
    await waitFor(() => out.includes("Ctrl-C stops everything"), "the cluster's banner", 45_000);
    const ports = [...out.matchAll(/edge-\d:\s+ws:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    expect(ports).toHaveLength(2);
    const token = /Token:\s+(\S+)/.exec(out)?.[1] as string;
    const key = /Producer key:\s+(\S+)/.exec(out)?.[1] as string;
    const client = await TestClient.connect(ports[1] as number, token);
    const res = await fetch(`http://127.0.0.1:${ports[0]}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ to: { user: "alice" }, event: "across-edges" }),
    });
    expect(res.status).toBe(202);
    await client.next((f) => f.event === "across-edges", "the message, sent to one edge, on the other");
    client.close();

    const started = childPids(child.pid as number, true);
    expect(started.length).toBeGreaterThanOrEqual(4); // two edges, a worker, redis-server
    child.kill("SIGINT");
    await waitFor(() => started.every((pid) => !processAlive(pid)), "every process it started gone", 30_000);
  }, 90_000);
});
