import { DEFAULT_MESSAGES_PER_JOB, Enqueuer, PendingCount, reportedByCommands } from "@herald/jobs";
import { HeraldError, type Message, type MessageInput, parseMessages } from "@herald/protocol";
import { closeRedis, connectRedis, defineScripts, isClusterConnection, Keys, waitReady } from "@herald/redis";
import type { Cluster, Redis } from "ioredis";

export interface ProducerOptions {
  /**
   * Redis URL; with `cluster`, the cluster's seed URLs, comma-separated (as the gateway's
   * REDIS_URL). Or pass `connection`.
   */
  redisUrl?: string;
  /**
   * An ioredis connection to use (not closed by `close()`): a `Redis`, or a `Cluster` when the
   * gateway runs on a Redis Cluster. Prefer `enableOfflineQueue: false`.
   */
  connection?: Redis | Cluster;
  /**
   * The gateway runs on a Redis Cluster (HERALD_REDIS_CLUSTER=1): use the cluster key layout,
   * and connect to `redisUrl` as a cluster. Default: whether `connection` is an ioredis Cluster.
   */
  cluster?: boolean;
  /** Key prefix: must match the gateway's HERALD_PREFIX. Default `herald`. */
  prefix?: string;
  /** Most messages packed into one flush (and one job). Default 100. */
  maxBatch?: number;
  /** Longest a message waits for companions before a flush. Default 2 ms. */
  maxDelayMs?: number;
  /** Most messages buffered while a flush is in flight; further sends wait. Default 10,000. */
  maxBuffered?: number;
  /** Queue capacity per priority: must match the gateway's HERALD_QUEUE_CAPACITY. Default 10,000. */
  capacity?: number;
  /** How long a flush waits for a (re)connecting Redis before failing with `unavailable`. Default 5,000 ms. */
  readyTimeoutMs?: number;
}

/**
 * The connection a producer's options ask for, and whether it is a cluster's. The layout
 * must be the gateway's: a producer writing the other layout's queues would have its
 * messages accepted and never delivered, since no worker reads those queues. So a Cluster
 * connection means the cluster layout, and the combinations that contradict it are refused.
 */
function producerConnection(options: ProducerOptions): { connection: Redis; owned: boolean; cluster: boolean } {
  const given = options.connection;
  if (given) {
    const cluster = isClusterConnection(given);
    if (options.cluster !== undefined && options.cluster !== cluster)
      throw new Error(
        `HeraldProducer: cluster is ${options.cluster}, but connection is ${cluster ? "" : "not "}a Cluster`,
      );
    // A Cluster answers the same commands; Herald's calls through it stay on one slot each.
    return { connection: given as Redis, owned: false, cluster };
  }
  const url = options.redisUrl;
  if (!url) throw new Error("HeraldProducer needs redisUrl or connection");
  const cluster = options.cluster === true;
  if (!cluster && url.includes(","))
    throw new Error("HeraldProducer: a list of URLs is for a Redis Cluster (set cluster: true)");
  return { connection: connectRedis(url, { name: "producer", failFast: true, cluster }), owned: true, cluster };
}

interface Pending {
  messages: Message[];
  /** A `send`: resolves with its one id, not an array. */
  one: boolean;
  resolve: (ids: string | string[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Enqueues messages from any Node service straight into Herald's queues, batching
 * sends that arrive close together into one packed job.
 *
 * - Validation happens at once, per call: a bad message rejects with `invalid_messages`.
 * - A flush is all or nothing: if a queue is full, every send in it rejects with `queue_full`.
 * - Order: messages are accepted in the order `send` was called.
 */
export class HeraldProducer {
  private readonly redis: Redis;
  private readonly ownsConnection: boolean;
  private readonly enqueuer: Enqueuer;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly maxBuffered: number;
  private readonly readyTimeoutMs: number;
  private buffer: Pending[] = [];
  /** Messages in `buffer`, not yet handed to a flush: what triggers a full-batch flush. */
  private unflushed = 0;
  /** Messages buffered or in a flush not yet settled: what `maxBuffered` bounds. */
  private buffered = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private spaceWaiters: (() => void)[] = [];
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: ProducerOptions = {}) {
    const { connection, owned, cluster } = producerConnection(options);
    this.redis = connection;
    this.ownsConnection = owned;
    this.maxBatch = options.maxBatch ?? DEFAULT_MESSAGES_PER_JOB;
    this.maxDelayMs = options.maxDelayMs ?? 2;
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 5000;
    // Without a listener ioredis would print each reconnect attempt.
    if (this.ownsConnection) this.redis.on("error", reportedByCommands);
    const redis = defineScripts(this.redis);
    const keys = new Keys(options.prefix ?? "herald", cluster ? "cluster" : "standalone");
    this.enqueuer = new Enqueuer(
      { redis, keys, pending: new PendingCount(redis, keys) },
      {
        capacity: options.capacity ?? 10_000,
        maxMessagesPerJob: this.maxBatch,
      },
    );
  }

  /** Enqueues one message; resolves with its id. */
  send(message: MessageInput): Promise<string> {
    return this.accept([message], true) as Promise<string>;
  }

  /** Enqueues up to 1,000 messages, all or nothing; resolves with their ids in order. */
  sendMany(messages: readonly MessageInput[]): Promise<string[]> {
    return this.accept(messages, false) as Promise<string[]>;
  }

  /**
   * Validates and buffers one call's messages. Not an async function, and `send` resolves
   * straight with its id: each async layer and unwrapping costs a promise and microtask
   * hops per message, on the path every message of a busy service takes.
   */
  private accept(messages: readonly MessageInput[], one: boolean): Promise<string | string[]> {
    if (this.closed) return Promise.reject(new HeraldError("closed", "the producer is closed"));
    const parsed = parseMessages({ messages });
    if (!parsed.ok)
      return Promise.reject(new HeraldError("invalid_messages", undefined, { problems: parsed.problems }));
    // Past maxBuffered, wait in line: first come, first buffered, so call order is kept.
    if (this.buffered >= this.maxBuffered || this.spaceWaiters.length > 0) {
      return new Promise<void>((r) => this.spaceWaiters.push(r)).then(() => {
        if (this.closed) throw new HeraldError("closed", "the producer is closed");
        return this.enter(parsed.messages, one);
      });
    }
    return this.enter(parsed.messages, one);
  }

  /** Buffers a validated call and schedules its flush: at once when a batch is full. */
  private enter(messages: Message[], one: boolean): Promise<string | string[]> {
    return new Promise((resolve, reject) => {
      this.buffer.push({ messages, one, resolve, reject });
      this.buffered += messages.length;
      this.unflushed += messages.length;
      if (this.unflushed >= this.maxBatch) this.flushSoon(0);
      else this.flushSoon(this.maxDelayMs);
    });
  }

  /** Sends everything buffered now; resolves when it is enqueued. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      // A send made between the drain's last look at the buffer and this moment found the
      // drain still running and left its messages to it: take them now, or they would wait forever.
      if (this.buffer.length > 0) void this.flush();
    });
    return this.draining;
  }

  /**
   * One enqueue at a time, each taking everything buffered when it starts: under load the
   * batches grow (packed `maxBatch` to a job) instead of queueing up one small flush after another.
   */
  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer;
      this.buffer = [];
      this.unflushed = 0;
      await this.enqueue(batch);
    }
  }

  /** Sends what is buffered, then closes; waiting sends reject as closed. Idempotent: every call awaits the same close. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      for (const wake of this.spaceWaiters.splice(0)) wake(); // waiting sends reject as closed
      try {
        await this.flush();
      } finally {
        await this.enqueuer.close();
        if (this.ownsConnection) await closeRedis(this.redis);
      }
    })();
    return this.closing;
  }

  /** Lets waiting sends in, in order, while there is room (each is let in once). */
  private wakeWaiters(): void {
    let room = this.maxBuffered - this.buffered;
    let woken = 0;
    while (room-- > 0 && woken < this.spaceWaiters.length) (this.spaceWaiters[woken++] as () => void)();
    if (woken) this.spaceWaiters.splice(0, woken);
  }

  private flushSoon(delayMs: number): void {
    if (delayMs === 0) {
      void this.flush();
      return;
    }
    this.timer ??= setTimeout(() => void this.flush(), delayMs);
  }

  private async enqueue(batch: Pending[]): Promise<void> {
    const all = batch.flatMap((p) => p.messages);
    try {
      // The connection fails fast while down (so callers never hang), so wait, bounded, for it to come up.
      if (this.redis.status !== "ready") await waitReady(this.redis, this.readyTimeoutMs);
      const result = await this.enqueuer.enqueue(all);
      if (!result.ok) {
        const err = new HeraldError("queue_full", `the ${result.priority} queue is full`, {
          priority: result.priority,
        });
        for (const p of batch) p.reject(err);
      } else {
        let at = 0;
        for (const p of batch) {
          p.resolve(p.one ? (result.ids[at] as string) : result.ids.slice(at, at + p.messages.length));
          at += p.messages.length;
        }
      }
    } catch (err) {
      const e = new HeraldError("unavailable", `enqueue failed: ${(err as Error).message}`);
      for (const p of batch) p.reject(e);
    } finally {
      this.buffered -= all.length;
      this.wakeWaiters();
    }
  }
}
