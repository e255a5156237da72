import type { Lane } from "@herald/protocol";
import { CLIENT_NAME_PREFIX, type Keys, NODE_LIVENESS_MS, redisTimeMs } from "@herald/redis";
import type { Redis } from "ioredis";

/** What Redis holds, unsent, for one node's subscriber connection. */
export interface SubscriberBacklog {
  nodeId: string;
  lane: Lane;
  /** Bytes in the connection's output buffer: published to the node and not yet read by it. */
  bytes: number;
}

/**
 * Reads how far behind each live edge's bus subscribers are, from `CLIENT LIST TYPE pubsub`.
 *
 * Why the output buffer: it is where a slow edge's backlog piles up (Redis pushes every
 * PUBLISH at once, whatever the reader's pace), and where it is lost: past
 * `client-output-buffer-limit pubsub` Redis drops the connection and everything in it.
 * One command covers every node, with no cooperation from the edges.
 *
 * Only nodes that heartbeat count: an edge cut off without its TCP connection closing
 * (a partition, a frozen host) keeps a subscriber whose buffer only grows, and must not
 * hold every worker back for longer than the liveness window.
 */
export async function readBusBacklog(redis: Redis, keys: Keys): Promise<SubscriberBacklog[]> {
  const replies = await redis
    .pipeline()
    .call("CLIENT", "LIST", "TYPE", "pubsub")
    .time()
    .zrange(keys.nodes, "0", "-1", "WITHSCORES")
    .exec();
  if (!replies) throw new Error("pipeline aborted");
  for (const [err] of replies) if (err) throw err;
  const [list, time, nodes] = replies.map(([, value]) => value) as [string, [string, string], string[]];
  return liveOnly(parseBusBacklog(list, keys), nodes, redisTimeMs(time));
}

/** Keeps the backlogs of nodes whose last heartbeat (from ZRANGE … WITHSCORES) is within the liveness window. */
export function liveOnly(backlog: SubscriberBacklog[], nodesWithScores: string[], nowMs: number): SubscriberBacklog[] {
  const live = new Set<string>();
  for (let i = 0; i + 1 < nodesWithScores.length; i += 2) {
    if (Number(nodesWithScores[i + 1]) >= nowMs - NODE_LIVENESS_MS) live.add(nodesWithScores[i] as string);
  }
  return backlog.filter((b) => live.has(b.nodeId));
}

/** The subscribers of one Herald deployment (`keys.prefix`) in a CLIENT LIST reply. */
export function parseBusBacklog(clientList: string, keys: Keys): SubscriberBacklog[] {
  const pattern = keys.subscriberNamePattern;
  const out: SubscriberBacklog[] = [];
  for (const line of clientList.split("\n")) {
    const name = field(line, "name");
    if (!name?.startsWith(CLIENT_NAME_PREFIX)) continue;
    const m = pattern.exec(name.slice(CLIENT_NAME_PREFIX.length));
    if (!m) continue;
    out.push({ nodeId: m[2] as string, lane: m[1] as Lane, bytes: Number(field(line, "omem") ?? 0) });
  }
  return out;
}

/** One `key=value` field of a CLIENT LIST line (values hold no spaces). */
function field(line: string, key: string): string | undefined {
  return new RegExp(`(?:^| )${key}=(\\S*)`).exec(line)?.[1];
}
