import {
  type Delivery,
  deliveryChannel,
  deliveryHead,
  type HistoryLimits,
  type Lane,
  type Priority,
} from "@herald/protocol";
import type { ResumeRequest, ResumeResult } from "@herald/routing";
import type { Keys } from "./keys.js";
import { NODE_LIVENESS_MS } from "./liveness.js";
import type { ScriptedRedis } from "./scripts.js";

/** One interest change for `interests`: a node's count for a user (its connections) or a topic (its subscribers). */
export interface InterestChange {
  kind: "user" | "topic";
  member: string;
  delta: 1 | -1;
}

/** One destination's deliveries for `deliver`: a user, a topic, or every node (broadcast). */
export interface Destination {
  kind: "user" | "topic" | "broadcast";
  /** The user id or topic ("" for a broadcast). */
  target: string;
  /** Its channel's history limits (0 entries: none kept). */
  history: HistoryLimits;
  deliveries: readonly Delivery[];
}

/** Where a job stands in its queue's publish order, for `deliver` (see lua/includes/publish-turn.lua). */
export interface PublishTurn {
  /** The BullMQ queue name. */
  queue: string;
  /** The job's id: numeric for Herald's jobs (BullMQ numbers them in queue order). */
  jobId: string;
  /** Whether this call is the job's first: it waits for the turn. */
  first: boolean;
  /** Whether this call is the job's last: it marks the job published. */
  last: boolean;
}

/** One `deliver` call's settings. */
export interface DeliverCall {
  lane: Lane;
  priority: Priority;
  destinations: readonly Destination[];
  /** Messages finished with this call, released from the priority's pending count. */
  release: number;
  turn?: PublishTurn | undefined;
  unacked: { cap: number; retentionMs: number };
}

/** The reply of `deliver`. */
export type DeliverReply =
  | {
      ok: true;
      /** Destinations no live node holds whose deliveries no history keeps. */
      unrouted: number;
      /** Destinations no live node holds whose deliveries history keeps for replay. */
      kept: number;
    }
  /** A lower job of the queue has not published yet: nothing was done; call again once it has. */
  | { ok: false; waitFor: string };

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
   * deliver-n.lua: appends each destination's deliveries to its channel's history (and a
   * user's critical ones to its unacked hash), routes them to the live nodes that hold it
   * and publishes one payload per node in the lane, broadcasts to every node, and releases
   * `release` from the pending count, in one atomic step; or, with a turn, does nothing
   * while a lower job of the queue has not published.
   */
  async deliver(call: DeliverCall): Promise<DeliverReply> {
    const { turn } = call;
    const keys = [
      this.keys.nodes,
      this.keys.pending(call.priority),
      this.keys.stall,
      turn ? `${this.keys.queue(turn.queue)}:active` : this.keys.stall,
      turn ? this.keys.published(turn.queue) : this.keys.stall,
    ];
    const args: (string | number)[] = [
      NODE_LIVENESS_MS,
      call.release,
      this.keys.nodeChannelPrefix(call.lane),
      this.keys.broadcastChannel(call.lane),
      call.priority === "critical" ? "1" : "0",
      call.unacked.cap,
      call.unacked.retentionMs,
      turn?.jobId ?? "",
      turn ? `${this.keys.queue(turn.queue)}:` : "",
      (turn?.first ? "c" : "") + (turn?.last ? "m" : ""),
    ];
    for (const d of call.destinations) this.addDestination(d, keys, args);
    const reply = await this.redis.heraldDeliver(keys.length, ...keys, ...args);
    if (Number(reply[0]) === -1) return { ok: false, waitFor: String(reply[1]) };
    return { ok: true, unrouted: Number(reply[0]), kept: Number(reply[1]) };
  }

  private addDestination(d: Destination, keys: string[], args: (string | number)[]): void {
    const channel = deliveryChannel(d.kind, d.target);
    const history = this.keys.history(channel);
    keys.push(
      d.kind === "user" ? this.keys.presence(d.target) : d.kind === "topic" ? this.keys.topic(d.target) : history,
      history,
      d.kind === "user" ? this.keys.unacked(d.target) : history,
    );
    // Only a message's deliveries are kept (a canary's carry no id).
    const keep = d.history.maxEntries > 0 && d.deliveries.every((x) => x.id !== undefined);
    args.push(
      d.kind === "user" ? "u" : d.kind === "topic" ? "t" : "b",
      keep ? d.history.maxEntries : 0,
      d.history.maxAgeMs,
      d.deliveries.length,
    );
    for (const x of d.deliveries) args.push(deliveryHead(x), x.frame, x.id ?? "", x.expires ?? 0);
  }

  /**
   * resume-2.lua: a user's unacked messages (when `userId` is given) and the channel's
   * history after `since` (when given), up to `limit` entries.
   */
  async resume(channel: string, options: ResumeRequest): Promise<ResumeResult> {
    const history = this.keys.history(channel);
    const unackedKey = options.userId === undefined ? history : this.keys.unacked(options.userId);
    const reply = await this.redis.heraldResume(
      history,
      unackedKey,
      options.since ?? "",
      options.limit,
      options.userId === undefined ? "0" : "1",
    );
    return parseResume(reply);
  }

  /** turn-2.lua: the job a waiting job still waits for, or undefined when its turn has come. */
  async turnBlocker(queue: string, jobId: string): Promise<string | undefined> {
    const q = this.keys.queue(queue);
    const blocker = await this.redis.heraldTurn(`${q}:active`, this.keys.published(queue), `${q}:`, jobId);
    return blocker ?? undefined;
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

const RESUME_STATUS: readonly ResumeResult["status"][] = ["none", "replay", "gap", "too_many"];

function parseResume(reply: (number | string)[]): ResumeResult {
  const status = RESUME_STATUS[Number(reply[0])] ?? "gap";
  const count = Number(reply[1]);
  const unacked: ResumeResult["unacked"] = [];
  let i = 2;
  for (let n = 0; n < count; n++, i += 2) {
    const value = String(reply[i + 1]);
    const tab = value.indexOf("\t");
    unacked.push({ id: String(reply[i]), expires: Number(value.slice(0, tab)), frame: value.slice(tab + 1) });
  }
  const entries: ResumeResult["entries"] = [];
  for (; i + 2 < reply.length; i += 3) {
    entries.push({ id: String(reply[i]), expires: Number(reply[i + 1]), frame: String(reply[i + 2]) });
  }
  return { status, unacked, entries };
}
