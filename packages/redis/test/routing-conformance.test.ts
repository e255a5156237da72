import { routingConformance } from "@herald/testkit";
import type { Redis } from "ioredis";
import {
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
    presence: (nodeId) => new RedisPresence(commands, keys, nodeId),
    subscriber: (nodeId) =>
      new RedisBusSubscriber(
        keys,
        { urgent: connect(keys.subscriberName(nodeId, "urgent")), bulk: connect(keys.subscriberName(nodeId, "bulk")) },
        nodeId,
      ),
    bus: () => new RedisBus(keys, commands),
    close: async () => {
      await Promise.all(connections.map(closeRedis));
      await server.stop();
    },
  };
});
