import { routingConformance } from "@herald/testkit";
import type { Redis } from "ioredis";
import {
  CLIENT_NAME_PREFIX,
  closeRedis,
  connectRedis,
  defineScripts,
  Keys,
  RedisBus,
  RedisBusSubscriber,
  RedisPresence,
  startLocalRedis,
} from "../src/index.js";

routingConformance("Redis", async () => {
  const server = await startLocalRedis();
  const keys = new Keys("conformance");
  const connections: Redis[] = [];
  const connect = (name: string) => {
    const r = connectRedis(server.url, { name });
    connections.push(r);
    return r;
  };
  const commands = defineScripts(connect("commands"));
  return {
    // One command connection per node, as each edge has its own.
    presence: (nodeId) => new RedisPresence(defineScripts(connect(`commands-${nodeId}`)), keys, nodeId),
    subscriber: (nodeId) =>
      new RedisBusSubscriber(
        keys,
        { urgent: connect(keys.subscriberName(nodeId, "urgent")), bulk: connect(keys.subscriberName(nodeId, "bulk")) },
        nodeId,
        commands,
      ),
    bus: () => new RedisBus(keys, commands),
    // A heartbeat older than the liveness window, at Redis's clock: what a node that stopped beating leaves.
    kill: async (nodeId) => {
      await commands.zadd(keys.nodes, 0, nodeId);
    },
    // What Redis buffers for the lane's subscriber connection: its output memory in CLIENT LIST.
    held: async (nodeId, lane) => {
      const list = (await commands.call("CLIENT", "LIST", "TYPE", "pubsub")) as string;
      const line = list
        .split("\n")
        .find((l) => l.includes(`name=${CLIENT_NAME_PREFIX}${keys.subscriberName(nodeId, lane)} `));
      return Number(/ omem=(\d+)/.exec(line ?? "")?.[1] ?? 0);
    },
    close: async () => {
      await Promise.all(connections.map(closeRedis));
      await server.stop();
    },
  };
});
