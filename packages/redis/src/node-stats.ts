import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

/** How long a process's published stats count: a process that stopped publishing drops out after this. */
export const STATS_TTL_MS = 5000;

/** What one process published: its id, role, when, and its metrics. */
export interface NodeStatsEntry {
  node: string;
  role: string;
  at: number;
  stats: unknown;
}

/**
 * Each process's recent metrics in Redis, for the operator dashboard: every process
 * publishes its own every second (a key that expires, and its id in a sorted set by time),
 * and any edge reads them all. Nothing else is stored.
 */
export class NodeStats {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async publish(node: string, role: string, stats: unknown): Promise<void> {
    const at = Date.now();
    await this.redis
      .multi()
      .set(this.keys.stats(node), JSON.stringify({ node, role, at, stats }), "PX", STATS_TTL_MS)
      .zadd(this.keys.statsNodes, at, node)
      .zremrangebyscore(this.keys.statsNodes, "-inf", at - STATS_TTL_MS * 12)
      .exec();
  }

  /** Every process that published within the TTL, by node id. */
  async readAll(): Promise<NodeStatsEntry[]> {
    const nodes = await this.redis.zrangebyscore(this.keys.statsNodes, Date.now() - STATS_TTL_MS, "+inf");
    if (nodes.length === 0) return [];
    const values = await this.redis.mget(nodes.map((n) => this.keys.stats(n)));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as NodeStatsEntry);
  }
}
