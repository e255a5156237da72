import type { Logger } from "@herald/observability";
import { type Delivery, LANES, type Lane, laneOf, type Priority } from "@herald/protocol";
import type { Bus, Presence } from "@herald/routing";
import type { EdgeMetrics } from "./edge-metrics.js";

/** Each lane's canary travels at a priority of that lane. */
const CANARY_PRIORITY: Record<Lane, Priority> = { urgent: "critical", bulk: "low" };
/** A canary not back after this many intervals counts as lost, and the node is not ready. */
const DEADLINE_INTERVALS = 4;

/**
 * The edge's proof that deliveries reach it: every interval it publishes, on each lane, a
 * delivery to itself through the exact path workers' deliveries take (presence lookup and
 * publish in the deliver script, the lane's channel, its subscriber connection, the bus
 * intake). While one is lost (not back within the deadline), the node is not ready and
 * `herald_canary_lost_total` rises, even while every TCP connection looks healthy: Redis
 * restarted empty (presence gone), a subscriber silently dropped, a stalled publish path.
 *
 * The canary's user id starts with a control character, which no real user id may hold, so it
 * can never be a client's.
 */
export class Canary {
  readonly user: string;
  private seq = 0;
  /** Registered: its user counts among this node's interests (and is restored with them). */
  started = false;
  private readonly outstanding: Record<Lane, Map<number, number>> = { urgent: new Map(), bulk: new Map() };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    nodeId: string,
    private readonly deps: {
      bus: Bus;
      presence: Presence;
      metrics: EdgeMetrics;
      log: Logger;
      /** A canary found no node holding its user: this node's presence is gone from Redis. */
      onUnrouted: () => void;
    },
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.user = `\u0001canary:${nodeId}`;
  }

  /** Registers the canary's user on this node, then sends canaries every interval. */
  async start(): Promise<void> {
    await this.deps.presence.addConnection(this.user);
    this.started = true;
    this.send();
    this.timer = setInterval(() => this.send(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Whether `d` is a canary (then it is taken here, not delivered to anyone). */
  take(d: Delivery): boolean {
    if (d.target !== this.user) return false;
    const lane = laneOf(d.priority);
    const seq = Number(d.frame);
    const sentAt = this.outstanding[lane].get(seq);
    if (sentAt !== undefined) {
      this.outstanding[lane].delete(seq);
      this.deps.metrics.canary.roundTrip.set({ lane }, (this.now() - sentAt) / 1000);
    }
    return true;
  }

  /** True while no canary of either lane is overdue. */
  healthy(): boolean {
    const oldest = this.now() - this.intervalMs * DEADLINE_INTERVALS;
    for (const lane of LANES) for (const sentAt of this.outstanding[lane].values()) if (sentAt < oldest) return false;
    return true;
  }

  private send(): void {
    const now = this.now();
    for (const lane of LANES) {
      this.forgetLost(lane, now);
      const seq = ++this.seq;
      this.outstanding[lane].set(seq, now);
      const priority = CANARY_PRIORITY[lane];
      const delivery: Delivery = { kind: "user", target: this.user, priority, ts: now, frame: String(seq) };
      this.deps.bus.deliver({ deliveries: [delivery], priority, release: 0 }).then(
        ({ unrouted, kept }) => {
          if (!unrouted && !kept) return;
          this.deps.log.warn({ lane }, "canary unrouted: this node's presence is gone from Redis");
          this.deps.onUnrouted();
        },
        (err: unknown) => this.deps.log.debug({ err, lane }, "canary not published"),
      );
    }
  }

  /** Drops canaries far past their deadline, counting each as lost once (keeps the map bounded). */
  private forgetLost(lane: Lane, now: number): void {
    const forget = now - this.intervalMs * DEADLINE_INTERVALS * 2;
    for (const [seq, sentAt] of this.outstanding[lane]) {
      if (sentAt >= forget) break; // insertion order is sending order
      this.outstanding[lane].delete(seq);
      this.deps.metrics.canary.lost.inc({ lane });
    }
  }
}
