import type { Lane, Priority } from "@herald/protocol";

/**
 * Every Redis key and pub/sub channel Herald uses is built here and nowhere else.
 * Keys carry the prefix as a hash tag (`{herald}`) so that the scripts touching
 * several of them stay in one Redis Cluster slot.
 */
export class Keys {
  /** `{prefix}`: also the BullMQ prefix, so queue keys share the slot. */
  readonly tag: string;

  constructor(readonly prefix: string) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) throw new Error(`invalid key prefix "${prefix}"`);
    this.tag = `{${prefix}}`;
  }

  /** Hash {ms, seq}: the last message id handed out. */
  get ids(): string {
    return `${this.tag}:ids`;
  }
  /** Counter: messages accepted and not yet finished, per priority (the bounded capacity). */
  pending(priority: Priority): string {
    return `${this.tag}:pending:${priority}`;
  }
  /** String: the id first given to a producer's idempotency key. */
  idempotency(key: string): string {
    return `${this.tag}:idem:${key}`;
  }
  /** Hash: node id -> connections of this user on that node. */
  presence(userId: string): string {
    return this.presencePrefix + userId;
  }
  get presencePrefix(): string {
    return `${this.tag}:presence:`;
  }
  /** Hash: node id -> subscribers of this topic on that node. */
  topic(name: string): string {
    return this.topicPrefix + name;
  }
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
    return `${this.tag}:node:${nodeId}:users`;
  }
  /** Set: topics a node holds subscribers for. */
  nodeTopics(nodeId: string): string {
    return `${this.tag}:node:${nodeId}:topics`;
  }

  /** List: a channel's history (`user:<id>`, a topic, `broadcast`), "<id>\t<replay until ms>\t<frame>" oldest first. */
  history(channel: string): string {
    return `${this.tag}:history:${channel}`;
  }
  /** Hash: a user's critical messages not yet acknowledged, id -> "<expiry ms>\t<frame>". */
  unacked(userId: string): string {
    return `${this.tag}:unacked:${userId}`;
  }
  /** BullMQ's key for a queue (its prefix is the tag): `<queue>:active`, `<queue>:<job id>:lock`. */
  queue(name: string): string {
    return `${this.tag}:${name}`;
  }
  /** Sorted set: a queue's active jobs that have published (job id scored by itself). */
  published(queueName: string): string {
    return `${this.tag}:published:${queueName}`;
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
    return this.nodeChannelPrefix(lane) + nodeId;
  }
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
    return `${this.prefix}:deliver:${lane}:*broadcast`;
  }
}
