import { routingConformance } from "@herald/testkit";
import { Redis } from "ioredis";
import {
  CLIENT_NAME_PREFIX,
  closeRedis,
  connectRedis,
  defineScripts,
  Keys,
  RedisBus,
  RedisPresence,
  RedisShardedBusSubscriber,
  startLocalCluster,
} from "../src/index.js";

// The same guarantees as on one Redis, with the cluster layout on a real 3-master cluster:
// every script call touching one slot, deliveries over sharded pub/sub.
routingConformance("Redis Cluster", async () => {
  const cluster = await startLocalCluster({ masters: 3 });
  const keys = new Keys("conformance", "cluster");
  const connections: Redis[] = [];
  const connect = (name: string, shardedSubscriber = false) => {
    const r = connectRedis(cluster.url, { name, cluster: true, shardedSubscriber, blocking: shardedSubscriber });
    connections.push(r);
    return r;
  };
  const commands = defineScripts(connect("commands"));
  return {
    presence: (nodeId) => new RedisPresence(defineScripts(connect(`commands-${nodeId}`)), keys, nodeId),
    subscriber: (nodeId) =>
      new RedisShardedBusSubscriber(
        keys,
        {
          urgent: connect(keys.subscriberName(nodeId, "urgent"), true),
          bulk: connect(keys.subscriberName(nodeId, "bulk"), true),
        },
        nodeId,
        commands,
      ),
    bus: () => new RedisBus(keys, commands),
    kill: async (nodeId) => {
      await commands.zadd(keys.nodes, 0, nodeId);
    },
    // What the masters buffer for the lane's sharded subscriber connections (their output memory).
    held: async (nodeId, lane) => {
      let total = 0;
      const name = `${CLIENT_NAME_PREFIX}${keys.subscriberName(nodeId, lane)} `;
      for (const node of cluster.nodes) {
        const r = new Redis(node.port, "127.0.0.1");
        const list = (await r.call("CLIENT", "LIST", "TYPE", "pubsub")) as string;
        r.disconnect();
        for (const line of list.split("\n"))
          if (line.includes(name)) total += Number(/ omem=(\d+)/.exec(line)?.[1] ?? 0);
      }
      return total;
    },
    close: async () => {
      await Promise.all(connections.map(closeRedis));
      await cluster.stop();
    },
  };
});
