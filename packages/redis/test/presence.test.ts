import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeRedis,
  connectRedis,
  defineScripts,
  Keys,
  type LocalRedis,
  RedisPresence,
  startLocalRedis,
} from "../src/index.js";

/** Presence against a real Redis: many changes in one turn go as one script call, applied in order. */
const keys = new Keys("presence");
let redis: LocalRedis;
let commands: Redis;
let monitor: Redis;
const calls: string[] = [];
const echoed: string[] = [];

beforeAll(async () => {
  redis = await startLocalRedis();
  commands = connectRedis(redis.url, { name: "test-commands" });
  monitor = connectRedis(redis.url, { name: "test-monitor" });
  const m = await monitor.monitor();
  m.on("monitor", (_time: string, args: string[]) => {
    if (/^(evalsha|eval)$/i.test(args[0] ?? "")) calls.push(args[0] as string);
    if (/^echo$/i.test(args[0] ?? "")) echoed.push(args[1] as string);
  });
});
afterAll(async () => {
  monitor?.disconnect();
  await closeRedis(commands);
  await redis?.stop();
});

/**
 * MONITOR lines arrive after the commands' replies: send a marker down the same connection
 * and wait for MONITOR to show it, so every command sent before it has been shown too.
 */
async function settleMonitor(): Promise<void> {
  const marker = `settled-${Math.random()}`;
  await commands.echo(marker);
  await expect.poll(() => echoed.includes(marker)).toBe(true);
}

describe("RedisPresence", () => {
  it("registers a burst of connections in one call, each promise with its own count", async () => {
    const presence = new RedisPresence(defineScripts(commands), keys, "edge-1");
    await presence.addConnection("warm-up"); // loads the script (EVALSHA, then EVAL the first time)
    await settleMonitor();
    calls.length = 0;
    const users = Array.from({ length: 300 }, (_, i) => `u${i}`);
    const counts = await Promise.all([...users.map((u) => presence.addConnection(u)), presence.addConnection("u0")]);
    expect(counts).toEqual([...users.map(() => 1), 2]); // u0's second connection counted after its first
    await settleMonitor();
    expect(calls).toHaveLength(1);
    expect(await commands.hget(keys.presence("u299"), "edge-1")).toBe("1");
    expect(await commands.sismember(keys.nodeUsers("edge-1"), "u299")).toBe(1);
  });

  it("applies an add and a remove made in the same turn in call order", async () => {
    const presence = new RedisPresence(defineScripts(commands), keys, "edge-2");
    const [added, removed] = await Promise.all([presence.addConnection("brief"), presence.removeConnection("brief")]);
    expect([added, removed]).toEqual([1, 0]);
    expect(await commands.hexists(keys.presence("brief"), "edge-2")).toBe(0);
    expect(await commands.sismember(keys.nodeUsers("edge-2"), "brief")).toBe(0);
    await presence.addSubscriber("room:1");
    await presence.addSubscriber("room:1");
    expect(await presence.removeSubscriber("room:1")).toBe(1);
    expect(await commands.sismember(keys.nodeTopics("edge-2"), "room:1")).toBe(1);
  });

  it("splits a very large burst into calls of at most 500 changes", async () => {
    const presence = new RedisPresence(defineScripts(commands), keys, "edge-3");
    await presence.addConnection("warm-up");
    await settleMonitor();
    calls.length = 0;
    await Promise.all(Array.from({ length: 1200 }, (_, i) => presence.addConnection(`big${i}`)));
    await settleMonitor();
    expect(calls).toHaveLength(3);
    expect(await commands.scard(keys.nodeUsers("edge-3"))).toBe(1201);
  });

  it("rejects every change of a batch when Redis fails it", async () => {
    const broken = connectRedis(redis.url, { name: "test-broken" });
    const presence = new RedisPresence(defineScripts(broken), keys, "edge-4");
    await presence.addConnection("before");
    await broken.quit();
    const results = await Promise.allSettled([presence.addConnection("a"), presence.addConnection("b")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});
