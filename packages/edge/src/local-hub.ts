import { BROADCAST_CHANNEL, type Priority } from "@herald/protocol";
import type { Delivery } from "@herald/redis";
import type { ConnectionPool } from "./connection-pool.js";
import type { EdgeMetrics } from "./edge-metrics.js";
import type { TemplatedApp } from "./native-uws.js";
import { type Conn, closeWith, type Ws } from "./socket-handler.js";

/**
 * Writes deliveries from the bus to this node's sockets. Topics and broadcasts go
 * through uWS native publish (the frame is copied once into each subscriber's
 * buffer, in C++); a user's messages go straight to that user's sockets, corked
 * per socket per batch, so a socket that stops reading is caught at once (1013).
 */
export class LocalHub {
  private readonly pendingByConn = new Map<Conn, string[]>();
  private readonly pendingTimes: { priority: Priority; ts: number; n: number }[] = [];

  constructor(
    private readonly app: TemplatedApp,
    private readonly pool: ConnectionPool<Ws>,
    private readonly metrics: EdgeMetrics,
    private readonly maxBackpressureBytes: number,
  ) {}

  deliver(d: Delivery): void {
    this.metrics.busReceived.inc({ kind: d.kind });
    if (d.kind === "user") {
      let n = 0;
      for (const conn of this.pool.connectionsOf(d.target)) {
        if (conn.state !== "open") continue;
        const list = this.pendingByConn.get(conn);
        if (list) list.push(d.frame);
        else this.pendingByConn.set(conn, [d.frame]);
        n++;
      }
      if (n) this.pendingTimes.push({ priority: d.priority, ts: d.ts, n });
      return;
    }
    const topic = d.kind === "broadcast" ? BROADCAST_CHANNEL : d.target;
    const n = this.app.numSubscribers(topic);
    if (n === 0) return;
    this.app.publish(topic, d.frame, false, false);
    this.record(d.priority, d.ts, n, Date.now());
  }

  /** Writes the user deliveries gathered since the last flush: one cork per socket. */
  flush(): void {
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
    this.metrics.delivered.inc({ priority }, n);
    this.metrics.latency.observe({ priority }, Math.max(0, now - ts) / 1000);
  }
}
