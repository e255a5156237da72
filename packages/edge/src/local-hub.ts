import { BROADCAST_CHANNEL, type Delivery, type DeliveryKind, PRIORITIES, type Priority } from "@herald/protocol";
import type { ConnectionPool } from "./connection-pool.js";
import type { EdgeMetrics } from "./edge-metrics.js";
import { HeldDeliveries } from "./held-deliveries.js";
import { type ClientSocket, type Conn, closeWith } from "./socket/client-socket.js";

/** uWS's native topic publishing (`TemplatedApp`), as the hub uses it. */
export interface TopicPublisher {
  /** Copies the frame into every subscriber's buffer, in C++. */
  publish(topic: string, frame: string, isBinary: boolean, compress: boolean): boolean;
  numSubscribers(topic: string): number;
}

/**
 * Writes deliveries from the bus to this node's sockets. Topics and broadcasts go
 * through uWS native publish (the frame is copied once into each subscriber's
 * buffer, in C++); a user's messages go straight to that user's sockets, corked
 * per socket per flush (the bus flushes after each urgent payload and each slice of
 * bulk ones), so a socket that stops reading is caught at once (1013).
 */
export class LocalHub {
  private readonly pendingByConn = new Map<Conn, string[]>();
  private readonly pendingTimes: { priority: Priority; ts: number; n: number }[] = [];
  /** Deliveries taken from the bus since the last flush, counted once per batch. */
  private readonly received: Record<DeliveryKind, number> = { user: 0, topic: 0, broadcast: 0 };
  /** Metric children bound per priority once, not looked up by label per message. */
  private readonly delivered: Record<Priority, { inc(n: number): void }>;
  private readonly latency: Record<Priority, { observe(v: number): void }>;

  constructor(
    private readonly app: TopicPublisher,
    private readonly pool: ConnectionPool<ClientSocket>,
    private readonly metrics: EdgeMetrics,
    private readonly maxBackpressureBytes: number,
    private readonly held: HeldDeliveries = new HeldDeliveries(),
  ) {
    this.delivered = bindPerPriority((p) => metrics.delivered.labels({ priority: p }));
    this.latency = bindPerPriority((p) => metrics.latency.labels({ priority: p }));
  }

  deliver(d: Delivery): void {
    this.received[d.kind]++;
    if (d.kind === "user") this.deliverToUser(d);
    else this.publish(d);
  }

  /** Gathers a user delivery for each of the user's connections here, written at the next flush. */
  private deliverToUser(d: Delivery): void {
    let n = 0;
    for (const conn of this.pool.connectionsOf(d.target)) {
      // A connection catching up on its channel takes it after its replay (HeldDeliveries).
      if (conn.held !== undefined && conn.state !== "closed" && this.held.heldForUser(conn, d)) {
        n++;
        continue;
      }
      if (conn.state !== "open") continue;
      const list = this.pendingByConn.get(conn);
      if (list) list.push(d.frame);
      else this.pendingByConn.set(conn, [d.frame]);
      n++;
    }
    if (n) this.pendingTimes.push({ priority: d.priority, ts: d.ts, n });
  }

  /** A topic or broadcast delivery, published to its uWS topic at once (and held for connections catching up). */
  private publish(d: Delivery): void {
    const topic = d.kind === "broadcast" ? BROADCAST_CHANNEL : d.target;
    const held = this.held.holdForTopic(topic, d);
    const n = this.app.numSubscribers(topic);
    if (n > 0) {
      // uWS writes a publish at once: user deliveries gathered before it go first, in arrival order.
      if (this.pendingByConn.size > 0) this.flush();
      this.app.publish(topic, d.frame, false, false);
    }
    if (n + held > 0) this.record(d.priority, d.ts, n + held, Date.now());
  }

  /** Writes the user deliveries gathered since the last flush: one cork per socket. */
  flush(): void {
    for (const kind of KINDS) {
      if (this.received[kind]) this.metrics.bus.received.inc({ kind }, this.received[kind]);
      this.received[kind] = 0;
    }
    if (this.pendingByConn.size === 0) return;
    for (const [conn, frames] of this.pendingByConn) {
      const ws = conn.socket;
      if (!ws || conn.state !== "open") continue;
      ws.cork(() => {
        for (const f of frames) ws.send(f, false, false);
      });
      if (ws.getBufferedAmount() > this.maxBackpressureBytes) {
        closeWith(conn, "tryAgain", this.metrics, "too slow to read");
      }
    }
    this.pendingByConn.clear();
    const now = Date.now();
    for (const t of this.pendingTimes) this.record(t.priority, t.ts, t.n, now);
    this.pendingTimes.length = 0;
  }

  private record(priority: Priority, ts: number, n: number, now: number): void {
    this.delivered[priority].inc(n);
    this.latency[priority].observe(Math.max(0, now - ts) / 1000);
  }
}

const KINDS: readonly DeliveryKind[] = ["user", "topic", "broadcast"];

function bindPerPriority<T>(bind: (p: Priority) => T): Record<Priority, T> {
  return Object.fromEntries(PRIORITIES.map((p) => [p, bind(p)])) as Record<Priority, T>;
}
