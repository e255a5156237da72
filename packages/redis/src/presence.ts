import type { Presence, UserPresence } from "@herald/routing";
import { InterestBatch } from "./interest-batch.js";
import type { Keys } from "./keys.js";
import { NODE_LIVENESS_MS, redisTimeMs } from "./liveness.js";
import { ScriptCalls } from "./script-calls.js";
import type { ScriptedRedis } from "./scripts.js";

const REAP_BATCH = 500;

/**
 * `Presence` in Redis: per user and per topic a hash of node id -> count, per node an index
 * of what it holds (so a dead node can be reaped), and a sorted set of node heartbeats at
 * Redis's clock. Workers read it in the same script that publishes (RedisBus), so routing
 * and publishing are one atomic step.
 */
export class RedisPresence implements Presence {
  private readonly scripts: ScriptCalls;
  private readonly interests: InterestBatch;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly nodeId: string,
  ) {
    this.scripts = new ScriptCalls(redis, keys);
    this.interests = new InterestBatch(this.scripts, nodeId);
  }

  addConnection(user: string): Promise<number> {
    return this.interests.change("user", user, 1);
  }
  removeConnection(user: string): Promise<number> {
    return this.interests.change("user", user, -1);
  }
  addSubscriber(topic: string): Promise<number> {
    return this.interests.change("topic", topic, 1);
  }
  removeSubscriber(topic: string): Promise<number> {
    return this.interests.change("topic", topic, -1);
  }

  async heartbeat(): Promise<string[]> {
    const dead = await this.scripts.heartbeat(this.nodeId);
    for (const node of dead) await this.reap(node);
    return dead;
  }

  /** Removes every interest a node holds (a dead node). */
  private async reap(nodeId: string): Promise<void> {
    let left: number;
    do left = await this.scripts.reapNode(nodeId, REAP_BATCH);
    while (left > 0);
  }

  async lookup(user: string): Promise<UserPresence> {
    const [all, time] = await Promise.all([this.redis.hgetall(this.keys.presence(user)), this.redis.time()]);
    const nodes = Object.keys(all);
    const seen = nodes.length ? await this.redis.zmscore(this.keys.nodes, ...nodes) : [];
    const oldest = redisTimeMs(time) - NODE_LIVENESS_MS;
    const live = nodes.filter((_, i) => seen[i] !== null && Number(seen[i]) >= oldest);
    const connections = live.reduce((sum, n) => sum + Number(all[n] ?? 0), 0);
    return { user, online: connections > 0, connections, nodes: live };
  }
}
