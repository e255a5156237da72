import { createLogger } from "@herald/observability";
import type { Lane } from "@herald/protocol";
import {
  closeRedis,
  connectRedis,
  defineScripts,
  Keys,
  keySlot,
  type LocalCluster,
  RedisShardedBusSubscriber,
  redisTimeMs,
  startLocalCluster,
} from "@herald/redis";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBusBacklog } from "../src/bus-backlog.js";
import { EdgeBackpressure } from "../src/edge-backpressure.js";

/**
 * The worker's view of a slow edge on a real Redis Cluster: the edge's sharded subscribers
 * (one connection per master and lane, as `herald edge` opens them in cluster mode) stop
 * reading while 30 MB is published to its channels on the masters other than the one that
 * holds the heartbeats (where a single CLIENT LIST through the Cluster connection would look).
 */
const keys = new Keys("bpc", "cluster");
const HIGH = 512 * 1024;
let cluster: LocalCluster;
let commands: Redis;
let bus: RedisShardedBusSubscriber;
const open: Redis[] = [];

beforeAll(async () => {
  cluster = await startLocalCluster({ masters: 3 });
  commands = connectRedis(cluster.url, { name: "test-commands", cluster: true });
  const subscriber = (lane: Lane) =>
    connectRedis(cluster.url, {
      name: keys.subscriberName("edge-1", lane),
      cluster: true,
      shardedSubscriber: true,
      blocking: true,
    });
  const subscribers = { urgent: subscriber("urgent"), bulk: subscriber("bulk") };
  open.push(commands, subscribers.urgent, subscribers.bulk);
  bus = new RedisShardedBusSubscriber(keys, subscribers, "edge-1", defineScripts(commands));
  await bus.start({ onPayload: () => undefined, onResubscribed: () => undefined });
  await commands.zadd(keys.nodes, redisTimeMs(await commands.time()), "edge-1");
});
afterAll(async () => {
  await Promise.all(open.map(closeRedis));
  await cluster?.stop();
});

/** The edge's bulk channels served by masters other than the heartbeats' one. */
async function channelsAwayFromHeartbeats(): Promise<string[]> {
  const heartbeats = (await cluster.masterOf(keySlot(keys.nodes))).port;
  const slots = keys.nodeChannelSlots("edge-1");
  const channels = keys.nodeChannels("edge-1", "bulk");
  const away: string[] = [];
  for (let i = 0; i < slots.length; i++) {
    if ((await cluster.masterOf(slots[i] as number)).port !== heartbeats) away.push(channels[i] as string);
  }
  return away;
}

describe("EdgeBackpressure on a Redis Cluster", () => {
  it("sees a paused edge's sharded subscribers on every master, pauses the lane, and resumes once it has read", async () => {
    const changes: string[] = [];
    const bp = new EdgeBackpressure(commands, keys, { highWaterBytes: HIGH, pollMs: 60_000 }, createLogger("silent"), {
      onChange: (lane, paused, behind) =>
        changes.push(`${lane} ${paused ? "paused" : "resumed"} ${behind.map((b) => b.nodeId)}`),
      onPoll: () => undefined,
    });
    await bp.poll();
    expect(bp.isPaused("bulk")).toBe(false);

    const channels = await channelsAwayFromHeartbeats();
    expect(channels.length).toBeGreaterThan(0);
    bus.pause("bulk");
    const payload = "x".repeat(10_000);
    for (let i = 0; i < 3000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) =>
          commands.spublish(channels[(i + k) % channels.length] as string, payload),
        ),
      );
    }
    const backlog = await readBusBacklog(commands, keys);
    const bulk = backlog.find((b) => b.nodeId === "edge-1" && b.lane === "bulk");
    expect(bulk?.bytes).toBeGreaterThan(HIGH);
    expect(backlog.filter((b) => b.lane === "bulk")).toHaveLength(1); // one entry per node and lane, masters summed

    await bp.poll();
    expect(bp.isPaused("bulk")).toBe(true);
    expect(bp.isPaused("urgent")).toBe(false);
    expect(changes).toEqual(["bulk paused edge-1"]);

    bus.resume("bulk");
    for (let i = 0; i < 100 && bp.isPaused("bulk"); i++) {
      await new Promise((r) => setTimeout(r, 20));
      await bp.poll();
    }
    expect(changes).toEqual(["bulk paused edge-1", "bulk resumed "]);
    bp.stop();
  });
});
