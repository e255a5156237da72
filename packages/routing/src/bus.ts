import type { Delivery, Lane, Priority } from "@herald/protocol";

/** One job's deliveries, for `Bus.deliver`. */
export interface DeliveryBatch {
  deliveries: readonly Delivery[];
  /** The priority of every delivery in the batch: it picks the lane. */
  priority: Priority;
  /** Messages of the batch now finished, released from the priority's pending count with the publish. */
  release: number;
  /**
   * The queue job publishing the batch: with it, the bus publishes only once every lower
   * job of that queue taken by any worker has published (or its worker died), so a queue's
   * batches go out in queue order whatever the number of worker processes.
   */
  job?: { queue: string; id: string } | undefined;
}

/** What became of a batch's destinations that no live node holds. */
export interface DeliveryOutcome {
  /** Kept nowhere: no live node took them and their channel keeps no history. */
  unrouted: number;
  /** Kept in their channel's history, for a replay. */
  kept: number;
}

/**
 * The workers' side of the bus: appends each message's delivery to its channel's history,
 * routes it to the edge nodes that hold its user or topic,
 * and broadcasts to every node, then publishes it to them in the priority's lane.
 *
 * - Routed when published: a node whose `Presence.addConnection` / `addSubscriber` resolved
 *   before `deliver` was called receives the batch (if it is live and subscribed).
 * - At most once: a node whose subscriber is disconnected when a batch is published misses
 *   it; nothing is retried by the bus (replayable history is what makes up for it).
 * - Ordered: a node receives a batch's deliveries in batch order, and batches in the order
 *   `deliver` was called, per lane.
 * - The release of the batch's pending count happens in the same step as its publish. A large
 *   batch may go as several steps (each atomic, in order): the release rides on the last, so
 *   a failure part way publishes part of the batch and releases nothing, and the job's retry
 *   repeats that part.
 */
export interface Bus {
  /** Keeps, routes and publishes a batch; resolves with what became of the destinations no live node holds. */
  deliver(batch: DeliveryBatch): Promise<DeliveryOutcome>;
}

/** What an edge does with what the bus brings. */
export interface BusHandlers {
  /**
   * One packed payload (lines of `encodeDelivery`) for this node, or a broadcast, in the
   * order it was published within its lane. Decode it with `decodeDeliveries`.
   */
  onPayload(lane: Lane, payload: string): void;
  /**
   * A lane's subscription came back after dropping (Redis restarted or was out of reach, or
   * closed a subscriber that fell behind its output-buffer limit). What was published to
   * this node meanwhile and kept for it has been handed to `onPayload` before anything
   * published since: `handedOver` payloads, or undefined when they could not be read.
   */
  onResubscribed(lane: Lane, handedOver: number | undefined): void;
}

/**
 * The edges' side of the bus: one node's deliveries and every broadcast, per lane, each
 * lane read on its own so an urgent payload is never queued behind bulk ones.
 *
 * - Live once `start` resolves: anything published to this node afterwards arrives.
 * - At most once and ordered per lane, as `Bus` says.
 * - Flow control: `pause(lane)` stops reading the lane; what is published meanwhile waits
 *   in the transport (for Redis, the subscriber's output buffer, where workers see it and
 *   hold back) until `resume(lane)`.
 */
export interface BusSubscriber {
  start(handlers: BusHandlers): Promise<void>;
  pause(lane: Lane): void;
  resume(lane: Lane): void;
}
