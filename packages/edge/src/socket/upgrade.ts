import { randomUUID } from "node:crypto";
import { newConnection } from "../connection.js";
import type { ConnectionPool } from "../connection-pool.js";
import { STATUS } from "../http/respond.js";
import type { TokenVerifier } from "../token-verifier.js";
import type { ClientSocket, Conn } from "./client-socket.js";

export type UpgradeDecision =
  | { ok: true; conn: Conn }
  | {
      ok: false;
      status: string;
      reason: "draining" | "not_ready" | "unauthorized" | "node_full" | "user_full";
      message: string;
    };

export interface UpgradeRequest {
  /** From the `token` query parameter or an `Authorization: Bearer` header. */
  token: string;
  /** The `since` query parameter ("" when absent). */
  since: string;
  /** The `broadcastSince` query parameter ("" when absent). */
  broadcastSince: string;
  now: number;
}

const REFUSALS = {
  draining: "this node is draining; connect to another",
  not_ready: "this node is not connected to Redis yet; connect to another or retry",
} as const;

/**
 * Whether an upgrade may go ahead: a node that is draining or not live yet, a token that
 * does not verify, or a node or user at its connection limit is refused. An accepted upgrade
 * has taken its slot in the pool (given back when the connection closes).
 */
export function decideUpgrade(
  req: UpgradeRequest,
  deps: {
    refusing: keyof typeof REFUSALS | undefined;
    verifier: TokenVerifier;
    pool: ConnectionPool<ClientSocket>;
    frameBurst: number;
  },
): UpgradeDecision {
  if (deps.refusing) {
    return { ok: false, status: STATUS.unavailable, reason: deps.refusing, message: REFUSALS[deps.refusing] };
  }
  const verdict = deps.verifier.verify(req.token);
  if (!verdict.ok) return { ok: false, status: STATUS.unauthorized, reason: "unauthorized", message: verdict.reason };
  const admission = deps.pool.admit(verdict.identity.userId);
  if (admission === "node_full") {
    return {
      ok: false,
      status: STATUS.unavailable,
      reason: "node_full",
      message: "this node is at its connection limit",
    };
  }
  if (admission === "user_full") {
    return { ok: false, status: STATUS.tooMany, reason: "user_full", message: "too many connections for this user" };
  }
  const conn = newConnection<ClientSocket>(randomUUID(), verdict.identity, req.now, deps.frameBurst);
  if (req.since) conn.resumeFrom = req.since;
  // Taken as the subscribe frame a client sends right after the socket opens, but one that
  // cannot arrive after welcome: it is answered with welcome, before any live broadcast.
  if (req.broadcastSince)
    conn.early = [JSON.stringify({ type: "subscribe", channel: "broadcast", since: req.broadcastSince })];
  return { ok: true, conn };
}

/** The token of an upgrade request: the `token` query parameter, else an `Authorization: Bearer` header. */
export function upgradeToken(query: string, authorization: string): string {
  return query || (/^Bearer\s+(.+)$/i.exec(authorization)?.[1] ?? "");
}
