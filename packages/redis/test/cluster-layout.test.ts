import { PRIORITIES } from "@herald/protocol";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeRedis,
  connectRedis,
  defineScripts,
  Keys,
  keySlot,
  type LocalCluster,
  RedisPresence,
  ScriptCalls,
  type ScriptedRedis,
  startLocalCluster,
} from "../src/index.js";

/** The cluster layout's scripts on a real 3-master cluster, where the conformance suite does not look. */
const keys = new Keys("layout", "cluster");
let cluster: LocalCluster;
let commands: ScriptedRedis;
let scripts: ScriptCalls;

beforeAll(async () => {
  cluster = await startLocalCluster({ masters: 3 });
  commands = defineScripts(connectRedis(cluster.url, { name: "layout", cluster: true }));
  scripts = new ScriptCalls(commands, keys);
});
afterAll(async () => {
  await closeRedis(commands as Redis);
  await cluster?.stop();
});

const noHistory = { maxEntries: 5, maxAgeMs: 60_000 };
const to = (user: string) => ({
  kind: "user" as const,
  target: user,
  history: noHistory,
  deliveries: [
    { kind: "user" as const, target: user, priority: "normal" as const, ts: 1, frame: "f", id: "0000000000001" },
  ],
});

describe("the cluster layout", () => {
  it("hands out ids unique across priorities, each reserved on its queue's slot", async () => {
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        scripts.reserveIds(
          PRIORITIES[i % 4] as (typeof PRIORITIES)[number],
          [undefined, undefined, "k"],
          1_000_000,
          60,
        ),
      ),
    );
    // Per priority ten batches: the first takes three new ids, the nine others two (their "k" repeats).
    const ids = replies.flatMap((r) => (r.ok ? r.freshIds : []));
    expect(ids).toHaveLength(4 * 21);
    expect(new Set(ids).size).toBe(4 * 21);
    for (const p of PRIORITIES) expect(Number(await commands.get(keys.pending(p)))).toBe(21);
  });

  it("refuses a per-master call over keys the master does not serve, before writing anything", async () => {
    const users = Array.from({ length: 30 }, (_, i) => `u${i}`);
    const bySlotMaster = await Promise.all(
      users.map(async (u) => (await cluster.masterOf(keySlot(keys.presence(u)))).port),
    );
    const a = users.find((_, i) => bySlotMaster[i] === bySlotMaster[0]) as string;
    const b = users.find((_, i) => bySlotMaster[i] !== bySlotMaster[0]) as string;
    const call = { priority: "normal" as const, unacked: { cap: 10, retentionMs: 1000 } };
    const none = { channels: new Map<string, string>(), broadcast: "" };
    await expect(
      scripts.deliverSlot({ ...call, destinations: [to(a), to(b)] }, keys.presence(a), none),
    ).rejects.toThrow();
    expect(await commands.llen(keys.history(`user:${a}`))).toBe(0);
    const same = users.filter((_, i) => bySlotMaster[i] === bySlotMaster[0]).slice(0, 3);
    const replies = await scripts.deliverSlot(
      { ...call, destinations: same.map(to) },
      keys.presence(same[0] as string),
      none,
    );
    expect(replies).toEqual(same.map(() => ({ published: false, others: [] })));
    for (const u of same) expect(await commands.llen(keys.history(`user:${u}`))).toBe(1);
  });

  it("keeps a node's index in step with its counts, and reaps a dead node's interests", async () => {
    const presence = new RedisPresence(commands, keys, "n-index");
    await Promise.all(["x1", "x2", "x3"].map((u) => presence.addConnection(u)));
    await presence.addSubscriber("topic-a");
    await presence.removeConnection("x2");
    expect((await commands.smembers(keys.nodeUsers("n-index"))).sort()).toEqual(["x1", "x3"]);
    expect(await commands.smembers(keys.nodeTopics("n-index"))).toEqual(["topic-a"]);
    await commands.zadd(keys.nodes, 0, "n-index");
    await new RedisPresence(commands, keys, "n-other").heartbeat(); // finds n-index dead and reaps it
    expect(await commands.hgetall(keys.presence("x1"))).toEqual({});
    expect(await commands.hgetall(keys.topic("topic-a"))).toEqual({});
    expect(await commands.zscore(keys.nodes, "n-index")).toBeNull();
  });
});
