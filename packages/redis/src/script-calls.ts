import {
  type Delivery,
  deliveryChannel,
  deliveryHead,
  formatId,
  type HistoryLimits,
  type Lane,
  type Priority,
} from "@herald/protocol";
import type { ResumeRequest, ResumeResult } from "@herald/routing";
import type { Keys } from "./keys.js";
import { NODE_LIVENESS_MS } from "./liveness.js";
import type { ScriptedRedis } from "./scripts.js";
import { keySlot } from "./slots.js";

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

/** One destination's outcome in `deliverSlot`. */
export interface SlotReply {
  /** Published to at least one node (or broadcast). */
  published: boolean;
  /** Holders it was not published to: not passed as live, or with no channel on this master. */
  others: string[];
}

/** The reply of `reserveIds`. */
export type ReserveReply =
  | {
      ok: true;
      /** The new messages' ids, in batch order. */
      freshIds: string[];
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
      keyed.push(this.keys.idempotency(k, priority));
      positions.push(i + 1);
    });
    const sequence = this.keys.idSequence(priority);
    const scriptKeys = [this.keys.ids(priority), this.keys.pending(priority), ...keyed];
    const reply = await this.redis.heraldReserveIds(
      scriptKeys.length,
      ...scriptKeys,
      idempotencyKeys.length,
      capacity,
      keyTtlSeconds,
      sequence.base,
      sequence.span,
      ...positions,
    );
    if (Number(reply[0]) === 0) return { ok: false, pending: Number(reply[1]) };
    const duplicates = new Map<number, string>();
    for (let i = 3; i + 1 < reply.length; i += 2) duplicates.set(Number(reply[i]) - 1, String(reply[i + 1]));
    const fresh = idempotencyKeys.length - duplicates.size;
    return { ok: true, freshIds: idsFrom(Number(reply[1]), Number(reply[2]), fresh, sequence), duplicates };
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

  /**
   * deliver-slot-n.lua (cluster layout): appends the destinations' deliveries to their
   * histories and unacked hashes and publishes them to the holders in `publish.channels` (live
   * nodes, each with its channel on this master), atomically; resolves, per destination, with
   * whether it was published and the holders left for the caller. The destinations are all of
   * one slot, or of several slots one master serves (`perMaster`: a name on that master, a
   * channel of a slot not being moved, that routes the call): the call then fails before it
   * writes anything if that master does not serve them all, nor every channel (a slot moving).
   */
  async deliverSlot(
    call: Omit<DeliverCall, "turn" | "release" | "lane">,
    perMaster: string | undefined,
    publish: { channels: ReadonlyMap<string, string>; broadcast: string },
  ): Promise<SlotReply[]> {
    const keys: string[] = [];
    const args: (string | number)[] = [
      call.priority === "critical" ? "1" : "0",
      call.unacked.cap,
      call.unacked.retentionMs,
      publish.broadcast,
      publish.channels.size,
    ];
    for (const [node, channel] of publish.channels) args.push(node, channel);
    for (const d of call.destinations) this.addDestination(d, keys, args);
    const reply = perMaster
      ? await this.redis.heraldDeliverSlot(1, perMaster, keys.length, ...keys, ...args)
      : await this.redis.heraldDeliverSlot(keys.length, ...keys, 0, ...args);
    const out: SlotReply[] = [];
    for (let i = 0; i < reply.length; ) {
      const n = Number(reply[i + 1]);
      out.push({ published: Number(reply[i]) === 1, others: reply.slice(i + 2, i + 2 + n).map(String) });
      i += 2 + n;
    }
    return out;
  }

  /** publish-done-2.lua (cluster layout): releases a published batch's pending count and marks its job published. */
  async publishDone(priority: Priority, release: number, job: { queue: string; jobId: string } | undefined) {
    // Without a job the published zset is not touched: any key of the priority's slot will do.
    const published = job ? this.keys.published(job.queue) : this.keys.pending(priority);
    await this.redis.heraldPublishDone(this.keys.pending(priority), published, release, job?.jobId ?? "");
  }

  /** take-missed-1.lua: the payloads kept for a node channel, oldest first, removed as they are returned. */
  takeMissed(channel: string): Promise<string[]> {
    return this.redis.heraldTakeMissed(this.keys.missedPayloads(channel));
  }

  /** publish-node-1.lua (cluster layout): one payload on a node's channel, kept for the node when no subscriber took it. */
  async publishToNode(channel: string, payload: string): Promise<void> {
    await this.redis.heraldPublishNode(this.keys.missedPayloads(channel), channel, payload);
  }

  /** live-nodes-2.lua: the ids of the nodes that count as live now. */
  async liveNodes(): Promise<string[]> {
    return (await this.redis.heraldLiveNodes(this.keys.nodes, this.keys.stall, NODE_LIVENESS_MS)).map(String);
  }

  /**
   * node-counts-n.lua (cluster layout): a node's counts in interest hashes that share one slot,
   * each changed by a delta ("add") or set ("set"); resolves with the new counts.
   */
  async nodeCounts(
    nodeId: string,
    mode: "add" | "set",
    entries: readonly { kind: "user" | "topic"; member: string; value: number }[],
  ): Promise<number[]> {
    const keys = entries.map((e) => (e.kind === "user" ? this.keys.presence(e.member) : this.keys.topic(e.member)));
    const counts = await this.redis.heraldNodeCounts(
      keys.length,
      ...keys,
      nodeId,
      mode,
      ...entries.map((e) => e.value),
    );
    return counts.map(Number);
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

  /**
   * turn-2.lua: the job a waiting job still waits for, or undefined when its turn has come;
   * `skip` (the cluster layout): lower jobs the caller publishes itself, in order, before this one.
   */
  async turnBlocker(queue: string, jobId: string, skip: readonly number[] = []): Promise<string | undefined> {
    const q = this.keys.queue(queue);
    const blocker = await this.redis.heraldTurn(`${q}:active`, this.keys.published(queue), `${q}:`, jobId, ...skip);
    return blocker ?? undefined;
  }

  /** interests-n.lua: a node's interest changes, applied in order; resolves with each new count. */
  async interests(nodeId: string, changes: readonly InterestChange[]): Promise<number[]> {
    if (this.keys.cluster) {
      return this.countsBySlot(
        nodeId,
        "add",
        changes.map((c) => ({ ...c, value: c.delta })),
      );
    }
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
    if (this.keys.cluster) {
      await this.countsBySlot(
        nodeId,
        "set",
        entries.map((e) => ({ ...e, value: e.count })),
      );
      return;
    }
    const { keys, args } = this.interestArgs(
      nodeId,
      entries.map((e) => ({ ...e, value: e.count })),
    );
    await this.redis.heraldSetInterests(keys.length, ...keys, ...args);
  }

  /**
   * Cluster layout: interest changes (or counts) applied with one node-counts-n.lua call per
   * slot, in order within each key, then the node's index (on the node's slot) brought in step
   * with the counts: a member whose count went from 0 is added, one whose count is 0 removed.
   * The index is updated after the counts, not with them: a failure between leaves it short of
   * a member (the dead node's count then stays in that hash, never routed to, as the node is
   * dead) or holding an extra one (reaping it deletes nothing).
   */
  private async countsBySlot(
    nodeId: string,
    mode: "add" | "set",
    entries: readonly { kind: "user" | "topic"; member: string; value: number }[],
  ): Promise<number[]> {
    const groups = new Map<number, number[]>();
    entries.forEach((e, i) => {
      const slot = keySlot(e.kind === "user" ? this.keys.presence(e.member) : this.keys.topic(e.member));
      const group = groups.get(slot);
      if (group) group.push(i);
      else groups.set(slot, [i]);
    });
    const counts = new Array<number>(entries.length);
    await Promise.all(
      [...groups.values()].map(async (positions) => {
        const replies = await this.nodeCounts(
          nodeId,
          mode,
          positions.map((i) => entries[i] as (typeof entries)[number]),
        );
        positions.forEach((i, j) => {
          counts[i] = replies[j] as number;
        });
      }),
    );
    await this.updateNodeIndex(nodeId, mode, entries, counts);
    return counts;
  }

  /** The node's index sets after `countsBySlot`: each member's last change decides. */
  private async updateNodeIndex(
    nodeId: string,
    mode: "add" | "set",
    entries: readonly { kind: "user" | "topic"; member: string; value: number }[],
    counts: readonly number[],
  ): Promise<void> {
    const state = { user: new Map<string, boolean>(), topic: new Map<string, boolean>() };
    entries.forEach((e, i) => {
      const n = counts[i] as number;
      if (n === 0) state[e.kind].set(e.member, false);
      else if (mode === "set" || n === e.value) state[e.kind].set(e.member, true);
    });
    const calls: Promise<unknown>[] = [];
    for (const kind of ["user", "topic"] as const) {
      const index = kind === "user" ? this.keys.nodeUsers(nodeId) : this.keys.nodeTopics(nodeId);
      const add = [...state[kind]].filter(([, held]) => held).map(([m]) => m);
      const remove = [...state[kind]].filter(([, held]) => !held).map(([m]) => m);
      if (add.length) calls.push(this.redis.sadd(index, ...add));
      if (remove.length) calls.push(this.redis.srem(index, ...remove));
    }
    await Promise.all(calls);
  }

  /** reap-node-3.lua: removes up to `batch` of a dead node's interests; resolves with how many remain. */
  reapNode(nodeId: string, batch: number): Promise<number> {
    if (this.keys.cluster) return this.reapNodeBySlot(nodeId, batch);
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
  /**
   * Cluster layout: what reap-node-3.lua does, as single-key commands (the node's index on its
   * slot, each interest hash on its user's or topic's): pops up to `batch` of each index,
   * removes the node from those hashes, and the node from the live set once both are empty.
   */
  private async reapNodeBySlot(nodeId: string, batch: number): Promise<number> {
    const [users, topics] = await Promise.all([
      this.redis.spop(this.keys.nodeUsers(nodeId), batch),
      this.redis.spop(this.keys.nodeTopics(nodeId), batch),
    ]);
    await Promise.all([
      ...users.map((u) => this.redis.hdel(this.keys.presence(u), nodeId)),
      ...topics.map((t) => this.redis.hdel(this.keys.topic(t), nodeId)),
    ]);
    const [u, t] = await Promise.all([
      this.redis.scard(this.keys.nodeUsers(nodeId)),
      this.redis.scard(this.keys.nodeTopics(nodeId)),
    ]);
    if (u + t === 0) await this.redis.zrem(this.keys.nodes, nodeId);
    return u + t;
  }
}

/**
 * `count` consecutive ids from (ms, seq) of a sequence part (`Keys.idSequence`), rolling into
 * the next millisecond past its span, as reserve-ids-n.lua hands them out.
 */
function idsFrom(ms: number, seq: number, count: number, part: { base: number; span: number }): string[] {
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const s = seq + i;
    ids[i] = formatId(ms + Math.floor(s / part.span), part.base + (s % part.span));
  }
  return ids;
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
