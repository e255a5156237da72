import type { Lane } from "@herald/protocol";
import { heraldConnectionName, type Keys, masterConnections, NODE_LIVENESS_MS, redisTimeMs } from "@herald/redis";
import type { Redis } from "ioredis";

/** What Redis holds, unsent, for one node's subscriber connection(s) of one lane. */
export interface SubscriberBacklog {
  nodeId: string;
  lane: Lane;
  /**
   * Bytes in the connection's output buffer (in cluster mode, summed over the lane's
   * connection on each master): published to the node and not yet read by it.
   */
  bytes: number;
}

/**
 * Reads how far behind each live edge's bus subscribers are, from `CLIENT LIST TYPE pubsub`.
 *
 * Why the output buffer: it is where a slow edge's backlog piles up (Redis pushes every
 * PUBLISH at once, whatever the reader's pace), and where it is lost: past
 * `client-output-buffer-limit pubsub` Redis drops the connection and everything in it.
 * One command per server covers every node, with no cooperation from the edges. On a
 * Cluster an edge subscribes on every master (sharded pub/sub), so every master is asked.
 *
 * Only nodes that heartbeat count: an edge cut off without its TCP connection closing
 * (a partition, a frozen host) keeps a subscriber whose buffer only grows, and must not
 * hold every worker back for longer than the liveness window.
 */
export async function readBusBacklog(redis: Redis, keys: Keys): Promise<SubscriberBacklog[]> {
  const [lists, heartbeats] = await Promise.all([
    Promise.all(masterConnections(redis).map((r) => r.call("CLIENT", "LIST", "TYPE", "pubsub") as Promise<string>)),
    readHeartbeats(redis, keys),
  ]);
  return liveOnly(parseBusBacklog(lists, keys), heartbeats.nodes, heartbeats.nowMs);
}

/** The nodes' heartbeats and the clock they were scored by, from the one server that holds them. */
async function readHeartbeats(redis: Redis, keys: Keys): Promise<{ nodes: string[]; nowMs: number }> {
  const replies = await redis.pipeline().time().zrange(keys.nodes, "0", "-1", "WITHSCORES").exec();
  if (!replies) throw new Error("pipeline aborted");
  for (const [err] of replies) if (err) throw err;
  const [time, nodes] = replies.map(([, value]) => value) as [[string, string], string[]];
  return { nodes, nowMs: redisTimeMs(time) };
}

/** Keeps the backlogs of nodes whose last heartbeat (from ZRANGE … WITHSCORES) is within the liveness window. */
export function liveOnly(backlog: SubscriberBacklog[], nodesWithScores: string[], nowMs: number): SubscriberBacklog[] {
  const live = new Set<string>();
  for (let i = 0; i + 1 < nodesWithScores.length; i += 2) {
    if (Number(nodesWithScores[i + 1]) >= nowMs - NODE_LIVENESS_MS) live.add(nodesWithScores[i] as string);
  }
  return backlog.filter((b) => live.has(b.nodeId));
}

/**
 * The subscribers of one Herald deployment (`keys.prefix`) in CLIENT LIST replies, one per
 * server. A node's lane in cluster mode has a connection on each master: its bytes are
 * summed, so a lane pauses at the same backlog per edge as on one Redis (and no single
 * connection, each under its own output-buffer limit, can be past the mark unseen).
 */
export function parseBusBacklog(clientLists: readonly string[], keys: Keys): SubscriberBacklog[] {
  const pattern = keys.subscriberNamePattern;
  const byNodeLane = new Map<string, SubscriberBacklog>();
  for (const line of clientLists.flatMap((list) => list.split("\n"))) {
    const name = heraldConnectionName(field(line, "name") ?? "");
    const m = name === undefined ? null : pattern.exec(name);
    if (!m) continue;
    const nodeId = m[2] as string;
    const lane = m[1] as Lane;
    const bytes = Number(field(line, "omem") ?? 0);
    const seen = byNodeLane.get(`${lane} ${nodeId}`);
    if (seen) seen.bytes += bytes;
    else byNodeLane.set(`${lane} ${nodeId}`, { nodeId, lane, bytes });
  }
  return [...byNodeLane.values()];
}

/** One `key=value` field of a CLIENT LIST line (values hold no spaces). */
function field(line: string, key: string): string | undefined {
  return new RegExp(`(?:^| )${key}=(\\S*)`).exec(line)?.[1];
}
