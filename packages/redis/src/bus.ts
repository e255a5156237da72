import type { Priority } from "@herald/protocol";
import type { Redis } from "ioredis";
import { bulkSliceMs } from "./bulk-slices.js";
import { Inbox } from "./bus-inbox.js";
import { carriesPublishes, type Delivery, decodeDeliveries, encodeDelivery } from "./deliveries.js";
import { type Keys, type Lane, laneOf } from "./keys.js";
import { NODE_LIVENESS_MS } from "./presence.js";
import type { ScriptedRedis } from "./scripts.js";

/** One job's deliveries, for `RedisBus.deliver`. */
export interface DeliveryBatch {
  deliveries: readonly Delivery[];
  /** The priority queue whose pending count this batch releases. */
  priority: Priority;
  /** Messages of the batch now finished (released from the pending count). */
  release: number;
}

/**
 * Most deliveries one script call routes, and so most lines in one payload an edge takes
 * whole (its bulk slices yield between payloads, never inside one). Without a bound a job
 * of 100 messages to 1,000 users each was one call with 100,000 keys and one 20 MB PUBLISH
 * that held the edge's event loop for all 100,000 writes (two in a row can pass Redis's
 * default 32 MB output limit for a subscriber, which disconnects it). Split, it is 1,000
 * calls of 20 KB: 300–470 ms vs 360–420 ms wall time, the worker's CPU 270–500 vs 140–200 ms
 * (scratch script, three runs each).
 */
export const MAX_DELIVERIES_PER_CALL = 100;

/**
 * Carries deliveries from workers to edge nodes over Redis pub/sub, packed: one Lua call
 * per batch routes each user's and topic's lines to the live nodes that hold them and
 * PUBLISHes one payload per node (broadcasts: one PUBLISH for all nodes).
 * At most once: a node disconnected from Redis misses what is published meanwhile
 * (replayable history is what makes up for it).
 * Ordered: a channel's deliveries keep their order within a batch, and batches reach
 * Redis in the order `deliver` is called (see `deliver`).
 * A large batch's calls are atomic each, not together: a connection lost between them can
 * publish part of a batch, and the job's retry repeats that part (as a lost reply could).
 */
export class RedisBus {
  constructor(
    private readonly keys: Keys,
    private readonly redis: ScriptedRedis,
  ) {}

  /**
   * Routes and publishes a batch; resolves with how many destinations no live node holds.
   * The commands are written to the connection before this returns (the promise only waits
   * for the replies), so batches delivered in some order reach Redis in that order.
   * A batch larger than MAX_DELIVERIES_PER_CALL goes as several script calls, pipelined in
   * order; the last one releases the pending count.
   */
  deliver(batch: DeliveryBatch): Promise<number> {
    const all = batch.deliveries;
    if (all.length <= MAX_DELIVERIES_PER_CALL) return this.deliverCall(all, batch.priority, batch.release);
    const calls: Promise<number>[] = [];
    for (let i = 0; i < all.length; i += MAX_DELIVERIES_PER_CALL) {
      const last = i + MAX_DELIVERIES_PER_CALL >= all.length;
      const part = all.slice(i, i + MAX_DELIVERIES_PER_CALL);
      calls.push(this.deliverCall(part, batch.priority, last ? batch.release : 0));
    }
    return Promise.all(calls).then((unrouted) => unrouted.reduce((sum, n) => sum + n, 0));
  }

  private deliverCall(deliveries: readonly Delivery[], priority: Priority, release: number): Promise<number> {
    const byDestination = new Map<string, string[]>();
    const broadcasts: string[] = [];
    for (const d of deliveries) {
      const line = encodeDelivery(d);
      if (d.kind === "broadcast") {
        broadcasts.push(line);
        continue;
      }
      const key = d.kind === "user" ? this.keys.presence(d.target) : this.keys.topic(d.target);
      const lines = byDestination.get(key);
      if (lines) lines.push(line);
      else byDestination.set(key, [line]);
    }
    const lane = laneOf(priority);
    const keys = [this.keys.nodes, this.keys.pending(priority), ...byDestination.keys()];
    const args = [
      NODE_LIVENESS_MS,
      release,
      this.keys.nodeChannelPrefix(lane),
      this.keys.broadcastChannel(lane),
      broadcasts.join("\n"),
      ...[...byDestination.values()].map((lines) => lines.join("\n")),
    ];
    return this.redis.heraldDeliver(keys.length, ...keys, ...args);
  }
}

/** What the edge does with what the bus brings. */
export interface BusHandlers {
  onDelivery(d: Delivery): void;
  /**
   * The moment to flush corked writes: after each urgent payload, and after each slice of
   * bulk ones (a socket's deliveries from all the payloads in a slice go in one write).
   */
  onBatchEnd(): void;
  /**
   * A lane's connection came back after dropping (Redis closes a subscriber that falls behind
   * its `client-output-buffer-limit pubsub`): whatever was published to this node meanwhile is lost.
   */
  onResubscribed(lane: Lane): void;
  /** Lines that could not be decoded (a worker and an edge of different versions). */
  onMalformed(lines: number): void;
}

/** How the edge takes bulk payloads: in slices, bounded (see Inbox). */
const BULK_INBOX = { highWaterBytes: 4 << 20, lowWaterBytes: 1 << 20 };

/**
 * The edge's side of the bus: takes the deliveries for one node, and broadcasts, from two
 * connections, one per lane, so urgent deliveries are read as soon as they arrive rather
 * than after whatever bulk backlog sits in the other connection's socket. Urgent payloads
 * are handled at once; bulk ones go through an inbox handled a few milliseconds at a time,
 * so the urgent connection is read in between.
 */
export class RedisBusSubscriber {
  private inbox: Inbox | undefined;
  private lastUrgentAt = Number.NEGATIVE_INFINITY;
  private lastBulkPublishAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly keys: Keys,
    private readonly subscribers: Readonly<Record<Lane, Redis>>,
    private readonly nodeId: string,
  ) {}

  /** Bulk payload characters read from Redis and not yet handled. */
  get bulkBacklog(): number {
    return this.inbox?.queuedBytes ?? 0;
  }

  /** Subscribes both lanes; resolves once Redis confirmed, so deliveries published afterwards arrive. */
  async start(handlers: BusHandlers): Promise<void> {
    await Promise.all(
      (["urgent", "bulk"] as const).map((lane) => {
        const mine = this.keys.nodeChannel(this.nodeId, lane);
        const all = this.keys.broadcastChannel(lane);
        const subscriber = this.subscribers[lane];
        let ready = 0;
        subscriber.on("ready", () => {
          if (++ready > 1) handlers.onResubscribed(lane); // ioredis resubscribes on its own
        });
        const decode = (payload: string) => {
          const malformed = decodeDeliveries(payload, handlers.onDelivery);
          if (malformed) handlers.onMalformed(malformed);
        };
        let take = (payload: string) => {
          this.lastUrgentAt = performance.now();
          decode(payload);
          handlers.onBatchEnd();
        };
        if (lane === "bulk") {
          const sliceMs = () => {
            const now = performance.now();
            return bulkSliceMs(now - this.lastUrgentAt, now - this.lastBulkPublishAt);
          };
          const inbox = new Inbox(
            { ...BULK_INBOX, sliceMs },
            {
              process: decode,
              sliceEnd: handlers.onBatchEnd,
              pause: () => subscriber.stream?.pause(),
              resume: () => subscriber.stream?.resume(),
            },
          );
          this.inbox = inbox;
          take = (payload) => {
            if (carriesPublishes(payload)) this.lastBulkPublishAt = performance.now();
            inbox.push(payload);
          };
        }
        subscriber.on("message", (channel: string, payload: string) => {
          if (channel === mine || channel === all) take(payload);
        });
        return subscriber.subscribe(mine, all);
      }),
    );
  }
}
