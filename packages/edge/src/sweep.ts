import { sweepVerdict } from "./connection.js";
import type { ConnectionPool } from "./connection-pool.js";
import type { EdgeMetrics } from "./edge-metrics.js";
import { pingDue, pingPhase } from "./ping-schedule.js";
import { type ClientSocket, closeWith } from "./socket/client-socket.js";

const SWEEP_MS = 1000;
const CLOSE_TEXT = { idle: "idle timeout", tokenExpired: "token expired", tryAgain: "too slow to read" } as const;

/**
 * Once a second, every connection: closed when idle, its token expired, or too slow to read
 * (see `sweepVerdict`); else pinged when its turn in the heartbeat interval comes (pings are
 * spread over the interval, see ping-schedule).
 */
export function startSweep(
  pool: ConnectionPool<ClientSocket>,
  metrics: EdgeMetrics,
  limits: { idleMs: number; maxBufferedBytes: number; pingMs: number },
): { stop(): void } {
  let lastSweep = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const conn of pool.all()) {
      if (!conn.socket) continue;
      const verdict = sweepVerdict(conn, now, conn.socket.getBufferedAmount(), limits);
      if (verdict) closeWith(conn, verdict, metrics, CLOSE_TEXT[verdict]);
      else if (conn.state === "open" && pingDue(pingPhase(conn.id, limits.pingMs), lastSweep, now, limits.pingMs)) {
        conn.socket.ping();
      }
    }
    lastSweep = now;
  }, SWEEP_MS);
  return { stop: () => clearInterval(timer) };
}
