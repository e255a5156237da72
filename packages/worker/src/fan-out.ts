import {
  BROADCAST_CHANNEL,
  type Delivery,
  type Envelope,
  messageFrameEncoder,
  type Priority,
  userChannel,
} from "@herald/protocol";
import type { Bus, DeliveryOutcome } from "@herald/routing";
import type { Ticket } from "./publish-sequencer.js";

/** A message that cannot be delivered as it is, with why. */
export interface Poisoned {
  message: Envelope;
  error: string;
}

export interface Encoded {
  /** One per target user, topic or broadcast (edges fan out to sockets), in message order. */
  deliveries: Delivery[];
  /** The messages that encoded. */
  kept: Envelope[];
  /** The messages that did not. */
  poisoned: Poisoned[];
}

/**
 * Turns messages into deliveries: one frame per message and channel, encoded once. A message
 * whose frame cannot be encoded (data JSON cannot express: a BigInt, a circular object, a
 * throwing toJSON) or whose target is malformed is set aside, with its error, instead of
 * throwing: one bad message must stop neither its job nor the queue behind it.
 */
export function toDeliveries(messages: readonly Envelope[]): Encoded {
  const out: Encoded = { deliveries: [], kept: [], poisoned: [] };
  for (const m of messages) {
    const at = out.deliveries.length;
    try {
      encodeInto(m, out.deliveries);
      out.kept.push(m);
    } catch (err) {
      out.deliveries.length = at; // none of its deliveries go out
      out.poisoned.push({ message: storable(m), error: `cannot be delivered: ${(err as Error).message}` });
    }
  }
  return out;
}

function encodeInto(m: Envelope, deliveries: Delivery[]): void {
  const frameFor = messageFrameEncoder(m);
  const to = m.to;
  const base = {
    priority: m.priority,
    ts: m.ts,
    id: m.id,
    expires: m.ttl === undefined ? undefined : m.ts + m.ttl * 1000,
  };
  if ("user" in to) {
    deliveries.push({ kind: "user", target: to.user, frame: frameFor(userChannel(to.user)), ...base });
  } else if ("users" in to) {
    for (const u of to.users) deliveries.push({ kind: "user", target: u, frame: frameFor(userChannel(u)), ...base });
  } else if ("channel" in to) {
    deliveries.push({ kind: "topic", target: to.channel, frame: frameFor(to.channel), ...base });
  } else {
    deliveries.push({ kind: "broadcast", target: "", frame: frameFor(BROADCAST_CHANNEL), ...base });
  }
}

/**
 * When `turn` comes, hands the deliveries to the bus, which keeps them in their channels'
 * histories, routes them to the nodes holding each user and topic and releases `release`
 * messages from the priority's pending count, once every lower job of the queue, taken by
 * any worker, has published. Resolves with what became of the destinations no live node holds.
 */
export async function publish(
  deliveries: readonly Delivery[],
  bus: Bus,
  turn: Ticket,
  batch: { priority: Priority; release: number; job?: { queue: string; id: string } | undefined },
): Promise<DeliveryOutcome> {
  if (deliveries.length === 0 && batch.release === 0) {
    turn.skip();
    return { unrouted: 0, kept: 0 };
  }
  return turn.run(() => bus.deliver({ deliveries, ...batch }));
}

/** The message as a dead letter can hold it: its data replaced when JSON cannot express it. */
function storable(m: Envelope): Envelope {
  try {
    JSON.stringify(m);
    return m;
  } catch (err) {
    return { ...m, data: `[not JSON-encodable: ${(err as Error).message}]` };
  }
}
