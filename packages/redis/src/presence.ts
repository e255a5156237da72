import { InterestBatch } from "./interest-batch.js";
import type { Keys } from "./keys.js";
import type { ScriptedRedis } from "./scripts.js";

/** A node counts as dead when its heartbeat is older than this. */
export const NODE_LIVENESS_MS = 30_000;

/** Milliseconds since the epoch from a Redis TIME reply (the clock every heartbeat is scored by). */
export function redisTimeMs([seconds, micros]: readonly (string | number)[]): number {
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
const REAP_BATCH = 500;

export interface UserPresence {
  user: string;
  online: boolean;
  connections: number;
  nodes: string[];
}

/**
 * Which nodes hold which users and topics, kept in Redis by the edges. Workers read it
 * (RedisBus.deliver, in Lua) to publish each delivery only to the nodes that need it.
 *
 * Guarantee: once `addConnection` / `addSubscriber` has resolved, a message routed
 * afterwards includes this node.
 */
export class RedisPresence {
  private readonly interests: InterestBatch;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly nodeId: string,
  ) {
    this.interests = new InterestBatch(redis, nodeId);
  }

  addConnection(user: string): Promise<number> {
    return this.interests.change(this.keys.presence(user), this.keys.nodeUsers(this.nodeId), user, 1);
  }
  removeConnection(user: string): Promise<number> {
    return this.interests.change(this.keys.presence(user), this.keys.nodeUsers(this.nodeId), user, -1);
  }
  addSubscriber(topic: string): Promise<number> {
    return this.interests.change(this.keys.topic(topic), this.keys.nodeTopics(this.nodeId), topic, 1);
  }
  removeSubscriber(topic: string): Promise<number> {
    return this.interests.change(this.keys.topic(topic), this.keys.nodeTopics(this.nodeId), topic, -1);
  }

  /** Marks this node alive and reaps nodes that stopped beating. Call every few seconds. */
  async heartbeat(): Promise<string[]> {
    const dead = await this.redis.heraldHeartbeat(this.keys.nodes, this.nodeId, NODE_LIVENESS_MS);
    for (const node of dead) await this.reap(node);
    return dead;
  }

  /** Removes every interest a node holds (a dead node, or this one on shutdown). */
  async reap(nodeId: string): Promise<void> {
    for (;;) {
      const left = await this.redis.heraldReapNode(
        this.keys.nodes,
        this.keys.nodeUsers(nodeId),
        this.keys.nodeTopics(nodeId),
        nodeId,
        this.keys.presencePrefix,
        this.keys.topicPrefix,
        REAP_BATCH,
      );
      if (left === 0) return;
    }
  }

  /** A user's live connections across the cluster (nodes silent past the liveness window left out). */
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
