import { type Delivery, decodeDeliveries, formatId, HistoryPolicy, parseHistoryRules } from "@herald/protocol";
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
  RedisHistory,
  RedisPresence,
  ScriptCalls,
  startLocalRedis,
  TurnSignals,
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

    const { unrouted } = await bus.deliver({ deliveries, priority: "low", release: total });

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
    const outcome = await bus.deliver({ deliveries: [toAlice(1), toAlice(2)], priority: "low", release: 0 });
    expect(outcome).toEqual({ unrouted: 0, kept: 0 });
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

/** A message's delivery to a user: `n` also orders its id. */
const message = (user: string, n: number, extra: Partial<Delivery> = {}): Delivery => ({
  kind: "user",
  target: user,
  priority: "low",
  ts: 1_700_000_000_000 + n,
  id: formatId(1_700_000_000_000 + n, 0),
  frame: `{"type":"message","id":"${formatId(1_700_000_000_000 + n, 0)}","n":${n}}`,
  ...extra,
});

describe("deliveries to a live node that is not subscribed", () => {
  it("are kept for it, newest 1,000 payloads for a minute, and taken once, oldest first", async () => {
    const scripted = defineScripts(commands);
    const presence = new RedisPresence(scripted, keys, "edge-2");
    await presence.heartbeat(); // live, but nothing subscribes to its channels (its subscription is down)
    await presence.addConnection("carol");
    const bus = new RedisBus(keys, scripted);
    const channel = keys.nodeChannel("edge-2", "bulk");
    for (let n = 0; n < 1005; n++) await bus.deliver({ deliveries: [toCarol(n)], priority: "low", release: 0 });

    const key = keys.missedPayloads(channel);
    expect(await commands.llen(key)).toBe(1000);
    const ttl = await commands.pttl(key);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    const calls = new ScriptCalls(scripted, keys);
    const kept = await calls.takeMissed(channel);
    const frames: string[] = [];
    for (const payload of kept) decodeDeliveries(payload, (d) => frames.push(d.frame));
    expect(frames).toEqual(Array.from({ length: 1000 }, (_, i) => toCarol(i + 5).frame));
    expect(await calls.takeMissed(channel)).toEqual([]);
    expect(await commands.exists(key)).toBe(0);
    // edge-1 is subscribed: nothing is kept for it.
    await bus.deliver({ deliveries: [toAlice(1)], priority: "low", release: 0 });
    expect(await commands.exists(keys.missedPayloads(keys.nodeChannel("edge-1", "bulk")))).toBe(0);
  });
});

const toCarol = (n: number): Delivery => ({ ...toAlice(n), target: "carol" });

describe("history", () => {
  const keeping = {
    history: new HistoryPolicy(parseHistoryRules("user:alice 5/1h, user:* 0")),
    unacked: { cap: 3, retentionMs: 60_000 },
  };

  it("appends a message's deliveries to its channel's history as it publishes them, trimmed to the limit", async () => {
    const bus = new RedisBus(keys, defineScripts(commands), keeping);
    payloads.length = 0;
    const deliveries = Array.from({ length: 8 }, (_, i) => message("alice", i));
    await bus.deliver({ deliveries, priority: "low", release: 0 });
    await expect.poll(() => payloads.length).toBe(1);
    const arrived: string[] = [];
    decodeDeliveries(payloads[0] as string, (d) => arrived.push(d.frame));
    expect(arrived).toEqual(deliveries.map((d) => d.frame));
    const kept = await commands.lrange(keys.history("user:alice"), 0, -1);
    expect(kept.map((e) => e.split("\t").slice(3).join("\t"))).toEqual(arrived.slice(3));
    expect(await commands.pttl(keys.history("user:alice"))).toBeGreaterThan(3_500_000);
  });

  it("keeps nothing for a channel whose rule is 0, and counts a destination no node holds as kept only when history has it", async () => {
    const bus = new RedisBus(keys, defineScripts(commands), keeping);
    const outcome = await bus.deliver({ deliveries: [message("zed", 1)], priority: "low", release: 0 });
    expect(outcome).toEqual({ unrouted: 1, kept: 0 });
    expect(await commands.exists(keys.history("user:zed"))).toBe(0);
    const policy = new HistoryPolicy(parseHistoryRules("user:* 5/1h"));
    const kept = await new RedisBus(keys, defineScripts(commands), { ...keeping, history: policy }).deliver({
      deliveries: [message("zed", 2)],
      priority: "low",
      release: 0,
    });
    expect(kept).toEqual({ unrouted: 0, kept: 1 });
  });

  it("replays what followed `since`, and answers a gap for an id it does not hold or more than the limit", async () => {
    const bus = new RedisBus(keys, defineScripts(commands), {
      ...keeping,
      history: new HistoryPolicy(parseHistoryRules("news 100/1h")),
    });
    const topic = (n: number) => ({ ...message("", n), kind: "topic" as const, target: "news" });
    await bus.deliver({ deliveries: Array.from({ length: 10 }, (_, i) => topic(i)), priority: "low", release: 0 });
    const history = new RedisHistory(defineScripts(commands), keys);
    const since = (n: number) => formatId(1_700_000_000_000 + n, 0);

    const replay = await history.resume("news", { since: since(6), limit: 10 });
    expect(replay.status).toBe("replay");
    expect(replay.entries.map((e) => JSON.parse(e.frame).n)).toEqual([7, 8, 9]);
    expect((await history.resume("news", { since: since(0), limit: 5 })).status).toBe("too_many");
    expect((await history.resume("news", { since: since(50), limit: 10 })).status).toBe("gap");
    expect((await history.resume("news", { limit: 10 })).status).toBe("none");
  });

  it("finds a message appended twice at its first place, so nothing between the copies is skipped", async () => {
    const policy = new HistoryPolicy(parseHistoryRules("twice 100/1h"));
    const bus = new RedisBus(keys, defineScripts(commands), { ...keeping, history: policy });
    const topic = (n: number) => ({ ...message("", n), kind: "topic" as const, target: "twice" });
    // A publish repeated after a lost reply appends its message again.
    for (const n of [1, 2, 3, 1]) await bus.deliver({ deliveries: [topic(n)], priority: "low", release: 0 });
    const history = new RedisHistory(defineScripts(commands), keys);
    const replay = await history.resume("twice", { since: formatId(1_700_000_000_001, 0), limit: 10 });
    expect(replay.entries.map((e) => JSON.parse(e.frame).n)).toEqual([2, 3, 1]);
  });

  it("keeps a message past its ttl as a place to resume from, without replaying it", async () => {
    const policy = new HistoryPolicy(parseHistoryRules("brief 100/1h"));
    const bus = new RedisBus(keys, defineScripts(commands), { ...keeping, history: policy });
    const topic = (n: number, expires?: number) => ({
      ...message("", n, { expires }),
      kind: "topic" as const,
      target: "brief",
    });
    await bus.deliver({
      deliveries: [topic(1, Date.now() - 1), topic(2, Date.now() - 1), topic(3)],
      priority: "low",
      release: 0,
    });
    const history = new RedisHistory(defineScripts(commands), keys);
    const replay = await history.resume("brief", { since: formatId(1_700_000_000_001, 0), limit: 10 });
    expect(replay.status).toBe("replay");
    const live = replay.entries.filter((e) => e.expires > Date.now()).map((e) => JSON.parse(e.frame).n);
    expect(live).toEqual([3]);
  });

  it("drops unacknowledged messages past their ttl when the cap is reached, to keep new ones", async () => {
    const bus = new RedisBus(keys, defineScripts(commands), keeping);
    const critical = (n: number, expires?: number) => message("dora", n, { priority: "critical", expires });
    const expired = [1, 2, 3].map((n) => critical(n, Date.now() - 1));
    await bus.deliver({ deliveries: [...expired, critical(4)], priority: "critical", release: 0 });
    const history = new RedisHistory(defineScripts(commands), keys);
    const { unacked } = await history.resume("user:dora", { userId: "dora", limit: 10 });
    expect(unacked.map((u) => JSON.parse(u.frame).n)).toEqual([4]);
  });

  it("keeps a user's critical messages until acknowledged, up to the cap", async () => {
    const bus = new RedisBus(keys, defineScripts(commands), keeping);
    const critical = (n: number) => message("carol", n, { priority: "critical" });
    await bus.deliver({ deliveries: [1, 2, 3, 4].map(critical), priority: "critical", release: 0 });
    const history = new RedisHistory(defineScripts(commands), keys);
    const before = await history.resume("user:carol", { userId: "carol", limit: 10 });
    expect(before.unacked.map((u) => JSON.parse(u.frame).n).sort()).toEqual([1, 2, 3]);
    await history.ack("carol", formatId(1_700_000_000_002, 0));
    const after = await history.resume("user:carol", { userId: "carol", limit: 10 });
    expect(after.unacked.map((u) => JSON.parse(u.frame).n).sort()).toEqual([1, 3]);
  });
});

/** A queue whose active jobs are `ids`, none published yet, and only `locked` locked by a live worker. */
async function activeJobs(queueName: string, ids: string[], locked: string): Promise<void> {
  const queue = keys.queue(queueName);
  await commands.del(`${queue}:active`, keys.published(queueName));
  await commands.lpush(`${queue}:active`, ...ids);
  await commands.set(`${queue}:${locked}:lock`, "worker-a", "PX", 60_000);
}

describe("publish turn", () => {
  it("holds a job's publish until every lower active job of its queue, locked by a live worker, has published", async () => {
    const bus = new RedisBus(keys, defineScripts(commands));
    await activeJobs("turns", ["7", "8", "9"], "7");
    // Job 9's worker finished first; job 8's worker died (no lock): only job 7 is waited for.
    payloads.length = 0;
    const nine = bus.deliver({
      deliveries: [toAlice(9)],
      priority: "low",
      release: 0,
      job: { queue: "turns", id: "9" },
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(payloads).toHaveLength(0);
    await bus.deliver({ deliveries: [toAlice(7)], priority: "low", release: 0, job: { queue: "turns", id: "7" } });
    await nine;
    await expect.poll(() => payloads.length).toBe(2);
    const order: number[] = [];
    for (const p of payloads) decodeDeliveries(p, (d) => order.push(d.ts));
    expect(order).toEqual([7, 9]);
  });

  it("signals a job's publish on its queue's channel, waking the job that waits for it", async () => {
    const signalsConnection = connectRedis(redis.url, { name: "test-turns" });
    try {
      const turns = new TurnSignals(signalsConnection, false);
      const bus = new RedisBus(keys, defineScripts(commands), undefined, turns);
      const channel = keys.published("signalled");
      await activeJobs("signalled", ["3", "4"], "3");
      await turns.watch(channel);
      payloads.length = 0;
      const four = bus.deliver({
        deliveries: [toAlice(4)],
        priority: "low",
        release: 0,
        job: { queue: "signalled", id: "4" },
      });
      // Job 4 waits (a signal or, past its poll interval, a check); job 3 publishes and is announced.
      const announced = turns.until(channel, "3", turns.mark(), 60_000);
      await bus.deliver({
        deliveries: [toAlice(3)],
        priority: "low",
        release: 0,
        job: { queue: "signalled", id: "3" },
      });
      expect(await announced).toBe(true);
      await four;
      await expect.poll(() => payloads.length).toBe(2);
      const order: number[] = [];
      for (const p of payloads) decodeDeliveries(p, (d) => order.push(d.ts));
      expect(order).toEqual([3, 4]);
      // A signal that came before anyone waited for it is remembered.
      expect(await turns.until(channel, "4", 0, 60_000)).toBe(true);
      expect(await turns.until(channel, "5", 0, 1)).toBe(false);
      // ...but not once a later check found the job unpublished again (a job retried under its id).
      expect(await turns.until(channel, "4", turns.mark(), 1)).toBe(false);
    } finally {
      await closeRedis(signalsConnection);
    }
  });
});
