import { BROADCAST_CHANNEL, type Envelope, encodeMessageFrame, userChannel } from "@herald/protocol";
import type { Delivery, RedisBus, RedisRouter } from "@herald/redis";

export interface FanOutResult {
  /** Deliveries published (one per target user, topic or broadcast, before edges fan out to sockets). */
  deliveries: number;
  /** Deliveries with no live node to go to (the user is offline, or nobody subscribes). */
  unrouted: number;
}

/**
 * Turns messages into deliveries (one frame per message and channel, encoded once),
 * resolves which nodes hold each user and topic, and publishes one packed payload
 * per node. Deliveries keep message order within every node's payload.
 */
export async function fanOut(messages: readonly Envelope[], router: RedisRouter, bus: RedisBus): Promise<FanOutResult> {
  const deliveries: Delivery[] = [];
  const users = new Set<string>();
  const topics = new Set<string>();
  for (const m of messages) {
    const base = { id: m.id, event: m.event, priority: m.priority, data: m.data, ts: m.ts };
    const to = m.to;
    if ("user" in to) {
      users.add(to.user);
      deliveries.push(user(to.user, m, encodeMessageFrame({ ...base, channel: userChannel(to.user) })));
    } else if ("users" in to) {
      for (const u of to.users) {
        users.add(u);
        deliveries.push(user(u, m, encodeMessageFrame({ ...base, channel: userChannel(u) })));
      }
    } else if ("channel" in to) {
      topics.add(to.channel);
      const frame = encodeMessageFrame({ ...base, channel: to.channel });
      deliveries.push({ kind: "topic", target: to.channel, priority: m.priority, ts: m.ts, frame });
    } else {
      const frame = encodeMessageFrame({ ...base, channel: BROADCAST_CHANNEL });
      deliveries.push({ kind: "broadcast", target: "", priority: m.priority, ts: m.ts, frame });
    }
  }

  const routes = await router.route(users, topics);
  const perNode = new Map<string, Delivery[]>();
  const broadcasts: Delivery[] = [];
  let unrouted = 0;
  for (const d of deliveries) {
    if (d.kind === "broadcast") {
      broadcasts.push(d);
      continue;
    }
    const nodes = (d.kind === "user" ? routes.users : routes.topics).get(d.target) ?? [];
    if (nodes.length === 0) unrouted++;
    for (const node of nodes) {
      const list = perNode.get(node);
      if (list) list.push(d);
      else perNode.set(node, [d]);
    }
  }
  await bus.publish(perNode, broadcasts);
  return { deliveries: deliveries.length, unrouted };
}

function user(target: string, m: Envelope, frame: string): Delivery {
  return { kind: "user", target, priority: m.priority, ts: m.ts, frame };
}
