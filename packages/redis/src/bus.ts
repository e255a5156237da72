import { type Delivery, encodeDelivery, LANES, type Lane, laneOf, type Priority } from "@herald/protocol";
import type { Bus, BusHandlers, BusSubscriber, DeliveryBatch } from "@herald/routing";
import type { Redis } from "ioredis";
import { onReconnect } from "./connection.js";
import type { Keys } from "./keys.js";
import { type Destination, ScriptCalls } from "./script-calls.js";
import type { ScriptedRedis } from "./scripts.js";

/**
 * Most deliveries one script call routes, and so most lines in one payload an edge takes
 * whole: without a bound, one job to many users each became a single huge PUBLISH that held
 * the edge's event loop and could pass Redis's output-buffer limit for a subscriber
 * (docs/decisions/delivery-calls.md).
 */
export const MAX_DELIVERIES_PER_CALL = 100;
/**
 * Most bytes of delivery lines one script call carries (a single larger delivery goes alone):
 * a few large messages to many users made publishes of tens of megabytes, past Redis's
 * output-buffer limit for a subscriber, which drops it and everything buffered for it.
 */
export const MAX_BYTES_PER_CALL = 1 << 20;

/**
 * `Bus` over Redis pub/sub: one Lua call per batch (deliver-n.lua) routes each user's and
 * topic's lines to the live nodes that hold them and PUBLISHes one payload per node
 * (broadcasts: one PUBLISH for all nodes), on the lane's channels.
 * A batch larger than MAX_DELIVERIES_PER_CALL or MAX_BYTES_PER_CALL goes as several calls, pipelined in order:
 * each is atomic, not all together, so a connection lost between them can publish part of
 * a batch, and the job's retry repeats that part (as a lost reply could).
 */
export class RedisBus implements Bus {
  private readonly scripts: ScriptCalls;

  constructor(keys: Keys, redis: ScriptedRedis) {
    this.scripts = new ScriptCalls(redis, keys);
  }

  /**
   * The commands are written to the connection before this returns (the promise only waits
   * for the replies), so batches delivered in some order reach Redis in that order. The
   * last call of a split batch releases the pending count.
   */
  deliver(batch: DeliveryBatch): Promise<number> {
    const calls: Promise<number>[] = [];
    let part: { d: Delivery; line: string }[] = [];
    let bytes = 0;
    for (const d of batch.deliveries) {
      const line = encodeDelivery(d);
      if (part.length > 0 && (part.length >= MAX_DELIVERIES_PER_CALL || bytes + line.length > MAX_BYTES_PER_CALL)) {
        calls.push(this.deliverCall(part, batch.priority, 0));
        part = [];
        bytes = 0;
      }
      part.push({ d, line });
      bytes += line.length;
    }
    calls.push(this.deliverCall(part, batch.priority, batch.release));
    if (calls.length === 1) return calls[0] as Promise<number>;
    return Promise.all(calls).then((unrouted) => unrouted.reduce((sum, n) => sum + n, 0));
  }

  private deliverCall(part: readonly { d: Delivery; line: string }[], priority: Priority, release: number) {
    const byDestination = new Map<string, { kind: "user" | "topic"; target: string; lines: string[] }>();
    const broadcasts: string[] = [];
    for (const { d, line } of part) {
      if (d.kind === "broadcast") {
        broadcasts.push(line);
        continue;
      }
      const id = d.kind === "user" ? `u${d.target}` : `t${d.target}`;
      const entry = byDestination.get(id);
      if (entry) entry.lines.push(line);
      else byDestination.set(id, { kind: d.kind, target: d.target, lines: [line] });
    }
    const destinations: Destination[] = [];
    for (const { kind, target, lines } of byDestination.values()) {
      destinations.push({ kind, target, lines: lines.join("\n") });
    }
    return this.scripts.deliver(laneOf(priority), priority, destinations, broadcasts.join("\n"), release);
  }
}

/**
 * `BusSubscriber` over Redis pub/sub: two subscriber connections, one per lane, each taking
 * this node's channel and the broadcast channel of its lane. Pausing a lane stops reading
 * its socket, so what is published meanwhile waits in Redis's output buffer for that
 * connection, where workers see it (and hold back) rather than in the edge's memory.
 */
export class RedisBusSubscriber implements BusSubscriber {
  constructor(
    private readonly keys: Keys,
    private readonly subscribers: Readonly<Record<Lane, Redis>>,
    private readonly nodeId: string,
  ) {}

  /** Subscribes both lanes; resolves once Redis confirmed, so deliveries published afterwards arrive. */
  async start(handlers: BusHandlers): Promise<void> {
    await Promise.all(
      LANES.map((lane) => {
        const mine = this.keys.nodeChannel(this.nodeId, lane);
        const all = this.keys.broadcastChannel(lane);
        const subscriber = this.subscribers[lane];
        onReconnect(subscriber, () => handlers.onResubscribed(lane));
        subscriber.on("message", (channel: string, payload: string) => {
          if (channel === mine || channel === all) handlers.onPayload(lane, payload);
        });
        return subscriber.subscribe(mine, all);
      }),
    );
  }

  pause(lane: Lane): void {
    this.subscribers[lane].stream?.pause();
  }

  resume(lane: Lane): void {
    this.subscribers[lane].stream?.resume();
  }
}
