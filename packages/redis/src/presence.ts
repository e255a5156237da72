import type { Heartbeat, InterestSnapshot, Presence, UserPresence } from "@herald/routing";
import { onReconnect } from "./connection.js";
import { InterestBatch } from "./interest-batch.js";
import type { Keys } from "./keys.js";
import { NODE_LIVENESS_MS, redisTimeMs } from "./liveness.js";
import { ScriptCalls } from "./script-calls.js";
import type { ScriptedRedis } from "./scripts.js";

const REAP_BATCH = 500;
const RESTORE_BATCH = 500;

/**
 * `Presence` in Redis: per user and per topic a hash of node id -> count, per node an index
 * of what it holds (so a dead node can be reaped), and a sorted set of node heartbeats at
 * Redis's clock. Workers read it in the same script that publishes (RedisBus), so routing
 * and publishing are one atomic step.
 */
export class RedisPresence implements Presence {
  private readonly scripts: ScriptCalls;
  private readonly interests: InterestBatch;
  /** The connection came back since the last beat: a restart or failover may have lost what it held. */
  private reconnected = false;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly nodeId: string,
  ) {
    this.scripts = new ScriptCalls(redis, keys);
    this.interests = new InterestBatch(this.scripts, nodeId);
    onReconnect(redis, () => {
      this.reconnected = true;
    });
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

  /** `joined` also when the connection to Redis came back since the last beat (see `reconnected`). */
  async heartbeat(): Promise<Heartbeat> {
    const reconnected = this.reconnected;
    this.reconnected = false;
    const beat = await this.scripts.heartbeat(this.nodeId);
    for (const node of beat.dead) await this.reap(node);
    return { joined: beat.joined || reconnected, dead: beat.dead };
  }

  async restore(snapshot: InterestSnapshot): Promise<void> {
    // Changes already asked for go first, on this same connection: Redis applies them in order.
    this.interests.flush();
    const entries: { kind: "user" | "topic"; member: string; count: number }[] = [];
    for (const [member, count] of snapshot.users) entries.push({ kind: "user", member, count });
    for (const member of snapshot.topics) entries.push({ kind: "topic", member, count: 1 });
    const calls: Promise<void>[] = [];
    for (let i = 0; i < entries.length; i += RESTORE_BATCH) {
      calls.push(this.scripts.setInterests(this.nodeId, entries.slice(i, i + RESTORE_BATCH)));
    }
    await Promise.all(calls);
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
