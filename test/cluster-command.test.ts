import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TestClient, waitFor } from "@herald/testkit";
import { afterAll, describe, expect, it } from "vitest";

/** `npm run cluster`: the local cluster operators and benchmarks start, as the README tells. */
const SCRIPT = fileURLToPath(new URL("../scripts/cluster/run.mjs", import.meta.url));
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill("SIGKILL");
});

const descendants = (pid: number): number[] => {
  try {
    const direct = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number);
    return direct.flatMap((p) => [p, ...descendants(p)]);
  } catch {
    return [];
  }
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

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

    const started = descendants(child.pid as number);
    expect(started.length).toBeGreaterThanOrEqual(4); // two edges, a worker, redis-server
    child.kill("SIGINT");
    await waitFor(() => started.every((pid) => !alive(pid)), "every process it started gone", 30_000);
  }, 90_000);
});
