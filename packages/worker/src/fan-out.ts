import {
  BROADCAST_CHANNEL,
  type Delivery,
  type Envelope,
  messageFrameEncoder,
  type Priority,
  userChannel,
} from "@herald/protocol";
import type { Bus } from "@herald/routing";
import type { Ticket } from "./publish-sequencer.js";

export interface FanOutResult {
  /** Deliveries published (one per target user, topic or broadcast, before edges fan out to sockets). */
  deliveries: number;
  /** Users or topics no live node holds (offline users, topics nobody subscribes to). */
  unrouted: number;
}

/**
 * Turns messages into deliveries (one frame per message and channel, encoded once) and,
 * when `turn` comes, hands them to the bus, which routes them to the nodes holding each
 * user and topic and releases `release` messages from the priority's pending count.
 */
export async function fanOut(
  messages: readonly Envelope[],
  bus: Bus,
  turn: Ticket,
  priority: Priority,
  release: number,
): Promise<FanOutResult> {
  const deliveries: Delivery[] = [];
  for (const m of messages) {
    const frameFor = messageFrameEncoder(m);
    const to = m.to;
    if ("user" in to) {
      deliveries.push(user(to.user, m, frameFor(userChannel(to.user))));
    } else if ("users" in to) {
      for (const u of to.users) deliveries.push(user(u, m, frameFor(userChannel(u))));
    } else if ("channel" in to) {
      deliveries.push({
        kind: "topic",
        target: to.channel,
        priority: m.priority,
        ts: m.ts,
        frame: frameFor(to.channel),
      });
    } else {
      const frame = frameFor(BROADCAST_CHANNEL);
      deliveries.push({ kind: "broadcast", target: "", priority: m.priority, ts: m.ts, frame });
    }
  }
  if (deliveries.length === 0 && release === 0) {
    turn.skip();
    return { deliveries: 0, unrouted: 0 };
  }
  const unrouted = await turn.run(() => bus.deliver({ deliveries, priority, release }));
  return { deliveries: deliveries.length, unrouted };
}

function user(target: string, m: Envelope, frame: string): Delivery {
  return { kind: "user", target, priority: m.priority, ts: m.ts, frame };
}
