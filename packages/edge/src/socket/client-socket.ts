import { CLOSE_CODES, type CloseReason, type ErrorCode, encodeFrame } from "@herald/protocol";
import type { Connection } from "../connection.js";
import type { EdgeMetrics } from "../edge-metrics.js";

/**
 * The parts of a uWebSockets.js WebSocket the edge uses: what the socket handler and the
 * local hub are written against, so they can be tested without a network.
 */
export interface ClientSocket {
  send(text: string, isBinary?: boolean, compress?: boolean): number;
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
  /** Closes with a close frame. */
  end(code?: number, text?: string): unknown;
  /** Runs `write` with the socket's writes gathered into one system call. */
  cork(write: () => void): unknown;
  getBufferedAmount(): number;
  ping(): number;
}

export type Conn = Connection<ClientSocket>;

/** Closes a socket with a close frame, counting why. Safe on an already closed one. */
export function closeWith(conn: Conn, reason: CloseReason, metrics: EdgeMetrics, text: string): void {
  if (conn.state === "closed" || !conn.socket) return;
  metrics.closed.inc({ reason });
  conn.socket.end(CLOSE_CODES[reason].code, text);
}

/** Sends an error frame, counting it by code. */
export function sendError(conn: Conn, metrics: EdgeMetrics, code: ErrorCode, message: string, channel?: string): void {
  metrics.frameErrors.inc({ code });
  conn.socket?.send(
    encodeFrame(channel ? { type: "error", code, message, channel } : { type: "error", code, message }),
  );
}
