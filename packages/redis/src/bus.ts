import type { Redis } from "ioredis";
import { type Delivery, decodeDeliveries, encodeDeliveries } from "./deliveries.js";
import type { Keys } from "./keys.js";

/**
 * Carries deliveries from workers to edge nodes over Redis pub/sub, packed: one
 * PUBLISH per destination node (or one for all broadcasts) per batch.
 * At most once: a node that is disconnected from Redis misses what is published
 * meanwhile (replayable history is what makes up for it).
 * Ordered: one publisher's deliveries to one node arrive in publish order.
 */
export class RedisBus {
  constructor(
    private readonly keys: Keys,
    private readonly publisher: Redis,
  ) {}

  /** Publishes everything in one pipeline; resolves when Redis has taken it all. */
  async publish(perNode: ReadonlyMap<string, Delivery[]>, broadcasts: readonly Delivery[]): Promise<void> {
    if (perNode.size === 0 && broadcasts.length === 0) return;
    const pipe = this.publisher.pipeline();
    for (const [node, list] of perNode) pipe.publish(this.keys.nodeChannel(node), encodeDeliveries(list));
    if (broadcasts.length) pipe.publish(this.keys.broadcastChannel, encodeDeliveries(broadcasts));
    const results = await pipe.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }
}

/** The edge's side of the bus: takes the deliveries for one node, and broadcasts. */
export class RedisBusSubscriber {
  private malformed = 0;

  constructor(
    private readonly keys: Keys,
    private readonly subscriber: Redis,
    private readonly nodeId: string,
  ) {}

  /** Subscribes; resolves once Redis confirmed, so deliveries published afterwards arrive. */
  async start(onDelivery: (d: Delivery) => void, onBatchEnd?: () => void): Promise<void> {
    const mine = this.keys.nodeChannel(this.nodeId);
    const all = this.keys.broadcastChannel;
    this.subscriber.on("message", (channel: string, payload: string) => {
      if (channel !== mine && channel !== all) return;
      this.malformed += decodeDeliveries(payload, onDelivery);
      onBatchEnd?.();
    });
    await this.subscriber.subscribe(mine, all);
  }

  /** Lines that could not be decoded since start (a version mismatch between worker and edge). */
  get malformedLines(): number {
    return this.malformed;
  }
}
