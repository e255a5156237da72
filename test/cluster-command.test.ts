import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { childPids, processAlive, TestClient, waitFor } from "@herald/testkit";
import { afterEach, describe, expect, it } from "vitest";

/** `npm run cluster`: the local cluster operators and benchmarks start, as the README tells. */
const SCRIPT = fileURLToPath(new URL("../scripts/cluster/run.mjs", import.meta.url));
let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
  child = undefined;
});

/** Runs the script with `args` until its banner is printed; returns the banner's text. */
async function start(args: string[]): Promise<string> {
  child = spawn(process.execPath, [SCRIPT, ...args], {
    env: { PATH: process.env.PATH ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  await waitFor(() => out.includes("Ctrl-C stops everything"), "the cluster's banner", 45_000);
  return out;
}

/** Sends a message to alice through the first edge listed and waits for it on the last one. */
async function deliversAcrossEdges(banner: string, edges: number): Promise<void> {
  const ports = [...banner.matchAll(/edge-\d:\s+ws:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  expect(ports).toHaveLength(edges);
  const token = /Token:\s+(\S+)/.exec(banner)?.[1] as string;
  const key = /Producer key:\s+(\S+)/.exec(banner)?.[1] as string;
  const client = await TestClient.connect(ports[edges - 1] as number, token);
  const res = await fetch(`http://127.0.0.1:${ports[0]}/v1/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ to: { user: "alice" }, event: "across-edges" }),
  });
  expect(res.status).toBe(202);
  await client.next((f) => f.event === "across-edges", "the message, sent to one edge, on the other");
  client.close();
}

/** Ctrl-C: every process the script started (found now, deep) is gone soon after. */
async function stopsEverything(atLeast: number): Promise<void> {
  const started = childPids(child?.pid as number, true);
  expect(started.length).toBeGreaterThanOrEqual(atLeast);
  child?.kill("SIGINT");
  await waitFor(() => started.every((pid) => !processAlive(pid)), "every process it started gone", 30_000);
}

describe("npm run cluster", () => {
  it("starts the edges and workers asked for, prints what to use them with, and stops them all on Ctrl-C", async () => {
    const banner = await start(["--edges", "2", "--workers", "1"]);
    await deliversAcrossEdges(banner, 2);
    await stopsEverything(4); // two edges, a worker, redis-server
  }, 90_000);

  it("with --redis-cluster, runs them in cluster mode on a private 3-master Redis Cluster, and stops it too", async () => {
    const banner = await start(["--edges", "2", "--workers", "1", "--redis-cluster"]);
    const seeds = /Redis:\s+(\S+) \(private 3-master cluster/.exec(banner)?.[1];
    expect(seeds?.split(",")).toHaveLength(3);
    expect(banner).toMatch(/HERALD_REDIS_CLUSTER=1/);
    await deliversAcrossEdges(banner, 2);
    await stopsEverything(6); // two edges, a worker, three redis-servers
  }, 90_000);
});
