import { type Delivery, decodeDeliveries } from "@herald/protocol";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeRedis,
  connectRedis,
  defineScripts,
  Keys,
  type LocalRedis,
  MAX_BYTES_PER_CALL,
  MAX_DELIVERIES_PER_CALL,
  RedisBus,
  RedisPresence,
  startLocalRedis,
} from "../src/index.js";

/** The worker's side of the bus against a real Redis: routing, packing, pending release. */
const keys = new Keys("bus");
let redis: LocalRedis;
let commands: Redis;
let subscriber: Redis;
const payloads: string[] = [];

beforeAll(async () => {
  redis = await startLocalRedis();
  commands = connectRedis(redis.url, { name: "test-commands" });
  subscriber = connectRedis(redis.url, { name: "test-subscriber" });
  subscriber.on("message", (_channel: string, payload: string) => payloads.push(payload));
  await subscriber.subscribe(keys.nodeChannel("edge-1", "bulk"));
  const presence = new RedisPresence(defineScripts(commands), keys, "edge-1");
  await presence.heartbeat(); // edge-1 is live
  await presence.addConnection("alice");
});
afterAll(async () => {
  await closeRedis(subscriber);
  await closeRedis(commands);
  await redis?.stop();
});

const toAlice = (n: number): Delivery => ({
  kind: "user",
  target: "alice",
  priority: "low",
  ts: n,
  frame: `{"n":${n}}`,
});

describe("RedisBus.deliver", () => {
  it("splits a large batch into payloads of at most MAX_DELIVERIES_PER_CALL, in order, releasing its count once", async () => {
    const bus = new RedisBus(keys, defineScripts(commands));
    const total = 2 * MAX_DELIVERIES_PER_CALL + 50;
    await commands.set(keys.pending("low"), total);
    const deliveries = [...Array.from({ length: total }, (_, i) => toAlice(i)), { ...toAlice(-1), target: "bob" }];
    payloads.length = 0;

    const unrouted = await bus.deliver({ deliveries, priority: "low", release: total });

    expect(unrouted).toBe(1); // bob is connected nowhere
    expect(await commands.get(keys.pending("low"))).toBe("0");
    await expect.poll(() => payloads.length).toBe(3);
    const sizes = payloads.map((p) => p.split("\n").length);
    expect(sizes).toEqual([MAX_DELIVERIES_PER_CALL, MAX_DELIVERIES_PER_CALL, 50]);
    const arrived: number[] = [];
    for (const p of payloads) decodeDeliveries(p, (d) => arrived.push(d.ts));
    expect(arrived).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it("sends a small batch as one payload", async () => {
    const bus = new RedisBus(keys, defineScripts(commands));
    payloads.length = 0;
    expect(await bus.deliver({ deliveries: [toAlice(1), toAlice(2)], priority: "low", release: 0 })).toBe(0);
    await expect.poll(() => payloads.length).toBe(1);
    expect(payloads[0]?.split("\n")).toHaveLength(2);
  });

  it("bounds a call's bytes as well as its count: large deliveries go a few to a payload, in order", async () => {
    const bus = new RedisBus(keys, defineScripts(commands));
    const big = (n: number): Delivery => ({ ...toAlice(n), frame: `{"n":${n},"pad":"${"x".repeat(300_000)}"}` });
    payloads.length = 0;
    await bus.deliver({ deliveries: Array.from({ length: 10 }, (_, i) => big(i)), priority: "low", release: 0 });
    await expect.poll(() => payloads.length).toBeGreaterThanOrEqual(3);
    await expect.poll(() => payloads.reduce((n, p) => n + p.split("\n").length, 0)).toBe(10);
    for (const p of payloads) expect(p.length).toBeLessThanOrEqual(MAX_BYTES_PER_CALL);
    const arrived: number[] = [];
    for (const p of payloads) decodeDeliveries(p, (d) => arrived.push(d.ts));
    expect(arrived).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });
});
