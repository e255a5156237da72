import { createLogger } from "@herald/observability";
import { closeRedis, connectRedis, Keys, type LocalRedis, redisTimeMs, startLocalRedis } from "@herald/redis";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeBackpressure } from "../src/edge-backpressure.js";

/**
 * The worker's view of a slow edge, against a real Redis: a subscriber named as an edge's
 * bulk lane stops reading (its socket paused) while 30 MB is published to it (the kernel's
 * socket buffers take the first few MB; Redis's output buffer the rest).
 */
const keys = new Keys("bp");
const HIGH = 512 * 1024;
let redis: LocalRedis;
let commands: Redis;
let edge: Redis;
const open: Redis[] = [];

beforeAll(async () => {
  redis = await startLocalRedis();
  commands = connectRedis(redis.url, { name: "test-commands" });
  edge = connectRedis(redis.url, { name: keys.subscriberName("edge-1", "bulk") });
  open.push(commands, edge);
  await edge.subscribe(keys.nodeChannel("edge-1", "bulk"));
});
afterAll(async () => {
  await Promise.all(open.map(closeRedis));
  await redis?.stop();
});

const heartbeat = async (node: string, ageMs = 0) => {
  await commands.zadd(keys.nodes, redisTimeMs(await commands.time()) - ageMs, node);
};

async function flood(): Promise<void> {
  edge.stream.pause();
  const payload = "x".repeat(10_000);
  for (let i = 0; i < 3000; i++) await commands.publish(keys.nodeChannel("edge-1", "bulk"), payload);
}

function watcher() {
  const changes: string[] = [];
  const bp = new EdgeBackpressure(commands, keys, { highWaterBytes: HIGH, pollMs: 60_000 }, createLogger("silent"), {
    onChange: (lane, paused, behind) =>
      changes.push(`${lane} ${paused ? "paused" : "resumed"} ${behind.map((b) => b.nodeId)}`),
    onPoll: () => undefined,
  });
  return { bp, changes };
}

describe("EdgeBackpressure", () => {
  it("pauses the lane of a live edge that stops reading, and resumes once it has read", async () => {
    await heartbeat("edge-1");
    const { bp, changes } = watcher();
    await bp.poll();
    expect(bp.isPaused("bulk")).toBe(false);

    await flood();
    await bp.poll();
    expect(bp.isPaused("bulk")).toBe(true);
    expect(bp.isPaused("urgent")).toBe(false); // lanes pause separately
    expect(changes).toEqual(["bulk paused edge-1"]);
    let released = false;
    const waiting = bp.clear("bulk").then(() => {
      released = true;
    });

    edge.stream.resume();
    for (let i = 0; i < 100 && bp.isPaused("bulk"); i++) {
      await new Promise((r) => setTimeout(r, 20));
      await bp.poll();
    }
    await waiting;
    expect(released).toBe(true);
    expect(changes).toEqual(["bulk paused edge-1", "bulk resumed "]);
    bp.stop();
  });

  it("ignores an edge that stopped heartbeating, however far behind", async () => {
    await heartbeat("edge-1", 60_000); // silent for a minute: past the liveness window
    const { bp } = watcher();
    await flood();
    // It is far behind (so a live edge would pause the lane, as above)...
    const list = (await commands.call("CLIENT", "LIST", "TYPE", "pubsub")) as string;
    expect(Math.max(...[...list.matchAll(/ omem=(\d+)/g)].map((m) => Number(m[1])))).toBeGreaterThan(HIGH);
    // ...and ignored.
    await bp.poll();
    expect(bp.isPaused("bulk")).toBe(false);
    edge.stream.resume();
    bp.stop();
  });
});
