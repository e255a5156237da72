import type { Lane, Priority } from "@herald/protocol";
import type { Keys } from "./keys.js";
import { NODE_LIVENESS_MS } from "./liveness.js";
import type { ScriptedRedis } from "./scripts.js";

/** One interest change for `interests`: a node's count for a user (its connections) or a topic (its subscribers). */
export interface InterestChange {
  kind: "user" | "topic";
  member: string;
  delta: 1 | -1;
}

/** One destination's lines for `deliver`. */
export interface Destination {
  kind: "user" | "topic";
  target: string;
  /** Its deliveries' lines, "\n"-joined. */
  lines: string;
}

/** The reply of `reserveIds`. */
export type ReserveReply =
  | {
      ok: true;
      /** (ms, seq) of the first new id: new messages take consecutive ids in batch order. */
      ms: number;
      seq: number;
      /** Batch position (0-based) -> the id its idempotency key was first given. */
      duplicates: Map<number, string>;
    }
  | { ok: false; pending: number };

/**
 * Every call of Herald's Lua scripts, each built here and nowhere else from the key names
 * in `Keys`: the KEYS and ARGV of each script are documented in its header (lua/), and this
 * file is the one place that must agree with them.
 */
export class ScriptCalls {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  /** reserve-ids-n.lua: ids, capacity and idempotency for one batch of one priority. */
  async reserveIds(
    priority: Priority,
    idempotencyKeys: readonly (string | undefined)[],
    capacity: number,
    keyTtlSeconds: number,
  ): Promise<ReserveReply> {
    const keyed: string[] = [];
    const positions: number[] = [];
    idempotencyKeys.forEach((k, i) => {
      if (k === undefined) return;
      keyed.push(this.keys.idempotency(k));
      positions.push(i + 1);
    });
    const scriptKeys = [this.keys.ids, this.keys.pending(priority), ...keyed];
    const reply = await this.redis.heraldReserveIds(
      scriptKeys.length,
      ...scriptKeys,
      idempotencyKeys.length,
      capacity,
      keyTtlSeconds,
      ...positions,
    );
    if (Number(reply[0]) === 0) return { ok: false, pending: Number(reply[1]) };
    const duplicates = new Map<number, string>();
    for (let i = 3; i + 1 < reply.length; i += 2) duplicates.set(Number(reply[i]) - 1, String(reply[i + 1]));
    return { ok: true, ms: Number(reply[1]), seq: Number(reply[2]), duplicates };
  }

  /**
   * deliver-n.lua: routes each destination's lines to the live nodes that hold it and
   * publishes one payload per node in the lane, broadcasts to every node, and releases
   * `release` from the priority's pending count, in one atomic step. Resolves with how many
   * destinations no live node holds.
   */
  deliver(
    lane: Lane,
    priority: Priority,
    destinations: readonly Destination[],
    broadcastLines: string,
    release: number,
  ): Promise<number> {
    const keys = [this.keys.nodes, this.keys.pending(priority), this.keys.stall];
    const lines: string[] = [];
    for (const d of destinations) {
      keys.push(d.kind === "user" ? this.keys.presence(d.target) : this.keys.topic(d.target));
      lines.push(d.lines);
    }
    const args = [
      NODE_LIVENESS_MS,
      release,
      this.keys.nodeChannelPrefix(lane),
      this.keys.broadcastChannel(lane),
      broadcastLines,
      ...lines,
    ];
    return this.redis.heraldDeliver(keys.length, ...keys, ...args);
  }

  /** interests-n.lua: a node's interest changes, applied in order; resolves with each new count. */
  async interests(nodeId: string, changes: readonly InterestChange[]): Promise<number[]> {
    const { keys, args } = this.interestArgs(
      nodeId,
      changes.map((c) => ({ ...c, value: c.delta })),
    );
    const counts = await this.redis.heraldInterests(keys.length, ...keys, ...args);
    return counts.map(Number);
  }

  /** KEYS and ARGV of the interest scripts: per entry its hash and the node's index; the member and a value. */
  private interestArgs(nodeId: string, entries: readonly { kind: "user" | "topic"; member: string; value: number }[]) {
    const keys: string[] = [];
    const args: (string | number)[] = [nodeId];
    for (const e of entries) {
      if (e.kind === "user") keys.push(this.keys.presence(e.member), this.keys.nodeUsers(nodeId));
      else keys.push(this.keys.topic(e.member), this.keys.nodeTopics(nodeId));
      args.push(e.member, e.value);
    }
    return { keys, args };
  }

  /**
   * heartbeat-2.lua: marks the node alive; resolves with whether it was missing from the
   * live set (`joined`) and the ids of nodes past the liveness window.
   */
  async heartbeat(nodeId: string): Promise<{ joined: boolean; dead: string[] }> {
    const [joined, ...dead] = await this.redis.heraldHeartbeat(
      this.keys.nodes,
      this.keys.stall,
      nodeId,
      NODE_LIVENESS_MS,
    );
    return { joined: Number(joined) === 1, dead: dead.map(String) };
  }

  /** set-interests-n.lua: overwrites a node's counts for these users and topics (0 removes one). */
  async setInterests(nodeId: string, entries: readonly { kind: "user" | "topic"; member: string; count: number }[]) {
    const { keys, args } = this.interestArgs(
      nodeId,
      entries.map((e) => ({ ...e, value: e.count })),
    );
    await this.redis.heraldSetInterests(keys.length, ...keys, ...args);
  }

  /** reap-node-3.lua: removes up to `batch` of a dead node's interests; resolves with how many remain. */
  reapNode(nodeId: string, batch: number): Promise<number> {
    return this.redis.heraldReapNode(
      this.keys.nodes,
      this.keys.nodeUsers(nodeId),
      this.keys.nodeTopics(nodeId),
      nodeId,
      this.keys.presencePrefix,
      this.keys.topicPrefix,
      batch,
    );
  }
}
