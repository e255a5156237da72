import { BROADCAST_CHANNEL, type Lane, PRIORITIES, type Priority, USER_CHANNEL_PREFIX } from "@herald/protocol";
import { CLUSTER_SLOTS, keySlot } from "./slots.js";

/**
 * Which slots the keys of one deployment use.
 * - `standalone`: every key carries the prefix as its hash tag (`{herald}`), so any script
 *   may touch any of them (one Redis, or one slot of a cluster).
 * - `cluster`: keys are tagged by what they belong to (a user, a topic, a priority's queue,
 *   a node, the broadcast channel, the deployment's liveness), so a Redis Cluster spreads
 *   them over its masters; each script call then touches the keys of one slot only.
 */
export type KeyLayout = "standalone" | "cluster";

/** Where each priority queue's hash tag lands (inclusive slot ranges), see `queueTag`. */
const QUEUE_SLOT_RANGES: Readonly<Record<Priority, readonly [number, number]>> = {
  normal: [0, 4095],
  high: [5461, 8191],
  low: [8192, 10922],
  critical: [12288, 16383],
};

/** Cluster layout: a node has one delivery channel per this many slots (64 ranges of 256). */
export const NODE_CHANNEL_RANGE = 256;

/** The id sequence space of one millisecond (4 base-36 digits, see @herald/protocol's ids). */
export const SEQ_SPACE = 36 ** 4;

/**
 * Every Redis key and pub/sub channel Herald uses is built here and nowhere else, for
 * either `KeyLayout`: the standalone layout is `{prefix}:…` throughout.
 */
export class Keys {
  /** `{prefix}`: in the standalone layout every key's tag, and the BullMQ prefix. */
  readonly tag: string;
  readonly cluster: boolean;
  private readonly queueTags = new Map<string, string>();
  private readonly channelTags = new Map<string, { tags: string[]; slots: number[] }>();

  constructor(
    readonly prefix: string,
    readonly layout: KeyLayout = "standalone",
  ) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) throw new Error(`invalid key prefix "${prefix}"`);
    this.tag = `{${prefix}}`;
    this.cluster = layout === "cluster";
  }

  /**
   * Cluster layout: the hash tag of one queue, `{<prefix>.q.<queue>}`, or with a number
   * appended (`.1`, `.2`, …: the first that lands there) so that the priority queues' slots
   * fall in `QUEUE_SLOT_RANGES`: on a cluster of three masters with evenly split slots, normal
   * on the first, high and low on the second, critical on the third; on four, one each.
   */
  queueTag(queueName: string): string {
    let tag = this.queueTags.get(queueName);
    if (tag !== undefined) return tag;
    const range = QUEUE_SLOT_RANGES[queueName as Priority] ?? [0, CLUSTER_SLOTS - 1];
    const base = `${this.prefix}.q.${queueName}`;
    for (let k = 0; tag === undefined; k++) {
      const candidate = k === 0 ? base : `${base}.${k}`;
      const slot = keySlot(candidate);
      if (slot >= range[0] && slot <= range[1]) tag = `{${candidate}}`;
    }
    this.queueTags.set(queueName, tag);
    return tag;
  }
  /** The BullMQ prefix of a queue: its keys are `<prefix>:<queue>:…`, all in the prefix's slot. */
  queuePrefix(queueName: string): string {
    return this.cluster ? this.queueTag(queueName) : this.tag;
  }
  /** Cluster layout: the tag of a priority's keys (its queue's), else the prefix's. */
  private priorityTag(priority: Priority): string {
    return this.cluster ? this.queueTag(priority) : this.tag;
  }
  private userTag(userId: string): string {
    return this.cluster ? `{${this.prefix}.u.${userId}}` : this.tag;
  }
  private topicTag(name: string): string {
    return this.cluster ? `{${this.prefix}.t.${name}}` : this.tag;
  }
  private nodeTag(nodeId: string): string {
    return this.cluster ? `{${this.prefix}.n.${nodeId}}` : this.tag;
  }
  private get broadcastTag(): string {
    return this.cluster ? `{${this.prefix}.b}` : this.tag;
  }

  /**
   * Hash {ms, seq}: the last message id handed out (standalone: one for every priority;
   * cluster: one per priority, on its queue's slot, each owning a quarter of the sequence
   * space so that ids stay unique, see `idSequence`).
   */
  ids(priority: Priority): string {
    return this.cluster ? `${this.priorityTag(priority)}:ids` : `${this.tag}:ids`;
  }
  /** The part of a millisecond's sequence numbers a priority's ids take: all in the standalone layout. */
  idSequence(priority: Priority): { base: number; span: number } {
    if (!this.cluster) return { base: 0, span: SEQ_SPACE };
    const span = SEQ_SPACE / PRIORITIES.length;
    return { base: PRIORITIES.indexOf(priority) * span, span };
  }
  /** Counter: messages accepted and not yet finished, per priority (the bounded capacity). */
  pending(priority: Priority): string {
    return `${this.priorityTag(priority)}:pending:${priority}`;
  }
  /**
   * String: the id first given to a producer's idempotency key (cluster layout: per priority,
   * on its queue's slot, reserved in the same call as the ids and the pending count).
   */
  idempotency(key: string, priority: Priority): string {
    return `${this.priorityTag(priority)}:idem:${key}`;
  }
  /** Hash: node id -> connections of this user on that node. */
  presence(userId: string): string {
    return this.cluster ? `${this.userTag(userId)}:presence` : this.presencePrefix + userId;
  }
  /** Standalone layout: a user's presence key is this and the user id. */
  get presencePrefix(): string {
    return `${this.tag}:presence:`;
  }
  /** Hash: node id -> subscribers of this topic on that node. */
  topic(name: string): string {
    return this.cluster ? `${this.topicTag(name)}:topic` : this.topicPrefix + name;
  }
  /** Standalone layout: a topic's subscriber key is this and the topic. */
  get topicPrefix(): string {
    return `${this.tag}:topic:`;
  }
  /** Sorted set: node id -> last heartbeat (ms). */
  get nodes(): string {
    return `${this.tag}:nodes`;
  }
  /** String, expiring: set for one liveness window after Redis stalled (see lua/includes/live-since.lua). */
  get stall(): string {
    return `${this.tag}:stall`;
  }
  /** Set: users a node holds connections for (so a dead node can be reaped). */
  nodeUsers(nodeId: string): string {
    return `${this.nodeTag(nodeId)}:node:${nodeId}:users`;
  }
  /** Set: topics a node holds subscribers for. */
  nodeTopics(nodeId: string): string {
    return `${this.nodeTag(nodeId)}:node:${nodeId}:topics`;
  }

  /** List: a channel's history (`user:<id>`, a topic, `broadcast`), "<id>\t<replay until ms>\t<frame>" oldest first. */
  history(channel: string): string {
    return `${this.channelTag(channel)}:history:${channel}`;
  }
  /** The tag of a channel's keys: its user's, its topic's or the broadcast's. */
  private channelTag(channel: string): string {
    if (channel === BROADCAST_CHANNEL) return this.broadcastTag;
    if (channel.startsWith(USER_CHANNEL_PREFIX)) return this.userTag(channel.slice(USER_CHANNEL_PREFIX.length));
    return this.topicTag(channel);
  }
  /** Hash: a user's critical messages not yet acknowledged, id -> "<expiry ms>\t<frame>". */
  unacked(userId: string): string {
    return `${this.userTag(userId)}:unacked:${userId}`;
  }
  /** BullMQ's key for a queue (its prefix, see `queuePrefix`): `<queue>:active`, `<queue>:<job id>:lock`. */
  queue(name: string): string {
    return `${this.queuePrefix(name)}:${name}`;
  }
  /** Sorted set: a queue's active jobs that have published (job id scored by itself). */
  published(queueName: string): string {
    return `${this.queuePrefix(queueName)}:published:${queueName}`;
  }

  /** String, expiring: a process's latest metrics, for the operator dashboard. */
  stats(nodeId: string): string {
    return `${this.tag}:stats:${nodeId}`;
  }
  /** Sorted set: node id -> when it last published its metrics. */
  get statsNodes(): string {
    return `${this.tag}:stats-nodes`;
  }

  // ---- pub/sub channels ----

  /** Deliveries for the connections one node holds, in one lane (see `Lane`). */
  nodeChannel(nodeId: string, lane: Lane): string {
    // Cluster layout: the first of the node's sharded channels (`nodeChannels`).
    return this.cluster ? (this.nodeChannels(nodeId, lane)[0] as string) : this.nodeChannelPrefix(lane) + nodeId;
  }
  /**
   * Cluster layout: a node's sharded channels of one lane, one in each range of
   * `NODE_CHANNEL_RANGE` slots (tags `{<prefix>.n.<node id>.<k>}`, the first k landing in the
   * range), so that whichever master serves a destination's slot also serves a channel of
   * every node, and the script appending to the destination's history can publish to it.
   */
  nodeChannels(nodeId: string, lane: Lane): string[] {
    return this.nodeChannelTags(nodeId).tags.map((tag) => `${tag}:deliver:${lane}`);
  }
  /** The slots of `nodeChannels`, in the same order. */
  nodeChannelSlots(nodeId: string): readonly number[] {
    return this.nodeChannelTags(nodeId).slots;
  }
  private nodeChannelTags(nodeId: string): { tags: string[]; slots: number[] } {
    let found = this.channelTags.get(nodeId);
    if (found) return found;
    const ranges = CLUSTER_SLOTS / NODE_CHANNEL_RANGE;
    const tags = new Array<string>(ranges);
    const slots = new Array<number>(ranges);
    for (let k = 0, left = ranges; left > 0; k++) {
      const tag = `{${this.prefix}.n.${nodeId}.${k}}`;
      const slot = keySlot(tag);
      const range = Math.floor(slot / NODE_CHANNEL_RANGE);
      if (tags[range] !== undefined) continue;
      tags[range] = tag;
      slots[range] = slot;
      left--;
    }
    found = { tags, slots };
    this.channelTags.set(nodeId, found);
    return found;
  }
  /**
   * List: payloads published on a node channel while no subscriber took them, kept for the
   * node to take when it has subscribed again (lua/includes/keep-missed.lua derives the same
   * name; in the cluster layout it shares the channel's slot).
   */
  missedPayloads(channel: string): string {
    return `${channel}:missed`;
  }
  /** Standalone layout: a node's channel is this and the node id. */
  nodeChannelPrefix(lane: Lane): string {
    return `${this.prefix}:deliver:${lane}:`;
  }
  /**
   * The client name of a node's subscriber connection for one lane: workers find the
   * nodes' output buffers by it in CLIENT LIST (the worker's bus backlog reader).
   */
  subscriberName(nodeId: string, lane: Lane): string {
    return `subscriber-${lane}:${this.prefix}:${nodeId}`;
  }
  /** Matches `subscriberName`'s output: group 1 the lane, group 2 the node id. */
  get subscriberNamePattern(): RegExp {
    return new RegExp(`^subscriber-(urgent|bulk):${this.prefix.replace(/\./g, "\\.")}:(\\S+)$`);
  }
  /** Deliveries every node takes: broadcasts. */
  broadcastChannel(lane: Lane): string {
    return this.cluster ? `${this.broadcastTag}:deliver:${lane}` : `${this.prefix}:deliver:${lane}:*broadcast`;
  }
}
