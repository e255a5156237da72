import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";

export interface ConnectionOptions {
  /** Label in errors and client lists. */
  name: string;
  /**
   * Fail commands at once while disconnected instead of queueing them: for
   * request paths that must answer 503 quickly rather than hang.
   */
  failFast?: boolean;
  /** For blocking commands (BullMQ workers): never give up on a command. */
  blocking?: boolean;
  /**
   * Connect to a Redis Cluster: `url` is then a comma-separated list of seed URLs, and the
   * connection follows the cluster's slots (MOVED, ASK, failovers).
   */
  cluster?: boolean;
  /** Cluster only: subscribe through sharded pub/sub (SSUBSCRIBE), one connection per master. */
  shardedSubscriber?: boolean;
}

/** Every connection Herald opens is named `herald:<name>` (CLIENT LIST shows it). */
export const CLIENT_NAME_PREFIX = "herald:";

/** What ioredis puts before the name of a Cluster's sharded subscriber connections (one per master). */
const SHARDED_SUBSCRIBER_NAME_PREFIX = "ioredis-cluster(ssubscriber):";

/**
 * The name Herald gave a connection (`<name>` of `connectRedis`), from the name CLIENT LIST
 * shows, or undefined for a connection Herald did not name. A Cluster's sharded subscribers
 * (an edge's in cluster mode) carry Herald's name behind ioredis's own prefix.
 */
export function heraldConnectionName(listed: string): string | undefined {
  const name = listed.startsWith(SHARDED_SUBSCRIBER_NAME_PREFIX)
    ? listed.slice(SHARDED_SUBSCRIBER_NAME_PREFIX.length)
    : listed;
  return name.startsWith(CLIENT_NAME_PREFIX) ? name.slice(CLIENT_NAME_PREFIX.length) : undefined;
}

/**
 * Whether a connection is an ioredis Cluster. `connectRedis` returns either as a `Redis`;
 * a connection handed in from outside (the producer SDK's) says by this which key layout it needs.
 */
export function isClusterConnection(redis: Redis | Cluster): boolean {
  return redis.isCluster === true;
}

/**
 * A connection to each master: a Cluster's, one per master it knows now (connected on first
 * use); one Redis's, itself. For commands about one server (CLIENT LIST), which a Cluster
 * would send to one node of its choice.
 */
export function masterConnections(redis: Redis | Cluster): Redis[] {
  return isClusterConnection(redis) ? (redis as Cluster).nodes("master") : [redis as Redis];
}

/**
 * Opens a Redis connection with Herald's defaults: reconnect forever with a capped
 * back-off, and (unless blocking) give up on a command after a bounded number of retries.
 */
export function connectRedis(url: string, opts: ConnectionOptions): Redis {
  if (opts.cluster) return connectCluster(url, opts);
  const options: RedisOptions = {
    connectionName: CLIENT_NAME_PREFIX + opts.name,
    lazyConnect: false,
    enableOfflineQueue: !opts.failFast,
    maxRetriesPerRequest: opts.blocking ? null : 2,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    connectTimeout: 5000,
  };
  return new Redis(url, options);
}

/**
 * A Redis Cluster connection with the same defaults. It is returned as a `Redis`: a `Cluster`
 * answers the same commands and events, and Herald's code sends only single-slot calls
 * through it (see `KeyLayout`); what differs (subscribing) is handled where it is used.
 */
function connectCluster(url: string, opts: ConnectionOptions): Redis {
  const seeds = url.split(",").map((u) => {
    const parsed = new URL(u.trim());
    return { host: parsed.hostname, port: Number(parsed.port || 6379) };
  });
  const first = new URL((url.split(",")[0] as string).trim());
  const options: ClusterOptions = {
    enableOfflineQueue: !opts.failFast,
    lazyConnect: false,
    shardedSubscribers: opts.shardedSubscriber === true,
    clusterRetryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    redisOptions: {
      connectionName: CLIENT_NAME_PREFIX + opts.name,
      maxRetriesPerRequest: opts.blocking ? null : 2,
      connectTimeout: 5000,
      username: first.username ? decodeURIComponent(first.username) : undefined,
      password: first.password ? decodeURIComponent(first.password) : undefined,
      tls: first.protocol === "rediss:" ? {} : undefined,
    },
  };
  return new Cluster(seeds, options) as unknown as Redis;
}

/** Resolves once the connection is ready, rejects after `timeoutMs`. */
export function waitReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off("ready", onReady);
    };
    redis.on("ready", onReady);
  });
}

/**
 * Calls `back` each time the connection is ready again after it dropped: ioredis emits
 * "ready" after every reconnect (and resubscribes a subscriber on its own). A "ready" emitted
 * before this call, or the first one after it on a connection still coming up, is not a reconnect.
 */
export function onReconnect(redis: Redis, back: () => void): void {
  let readies = redis.status === "ready" ? 1 : 0;
  redis.on("ready", () => {
    if (++readies > 1) back();
  });
}

/** Quits a connection, disconnecting hard if it does not answer. Never throws. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "end") return;
  try {
    await Promise.race([redis.quit(), new Promise((r) => setTimeout(r, 1000))]);
  } catch {
    // already closed or unreachable: disconnect below is all that is left to do
  }
  redis.disconnect();
}
