import type { ChannelCatchUp } from "./held-deliveries.js";
import type { ClientIdentity } from "./token-verifier.js";

export type ConnectionState = "connecting" | "open" | "closed";

/**
 * One client connection's state: uWS user data, so it lives exactly as long as
 * the socket. The socket itself is attached on open.
 */
export interface Connection<Socket = unknown> {
  id: string;
  identity: ClientIdentity;
  state: ConnectionState;
  openedAt: number;
  /** Last frame from the client (ms); heartbeats' pongs do not count: idle means the user is idle. */
  lastActivity: number;
  /** Topics subscribed, created on the first subscription (most connections never subscribe). */
  topics: Set<string> | undefined;
  /** Frame-rate token bucket. */
  tokens: number;
  tokensAt: number;
  /** Set once `rate_limited` was sent, cleared when the bucket refills. */
  warned: boolean;
  socket?: Socket | undefined;
  /** Frames received before `welcome` (undefined: a binary frame), answered once the connection is live. */
  early: (string | undefined)[] | undefined;
  /** `since` given on connect, answered once welcome is sent. */
  resumeFrom: string | undefined;
  /**
   * Deliveries held per channel while the connection catches up on it (its history and
   * unacknowledged messages are read and sent first); undefined when nothing is held.
   */
  held: Map<string, ChannelCatchUp> | undefined;
  /**
   * This connection's presence registration: "pending" until Redis answered, "registered"
   * once it counted, "none" if it failed. Only a counted connection is uncounted on close,
   * or a user with other connections on this node would drop to zero and stop receiving.
   */
  presence: "pending" | "registered" | "none";
}

export function newConnection<S>(id: string, identity: ClientIdentity, now: number, burst: number): Connection<S> {
  return {
    id,
    identity,
    state: "connecting",
    openedAt: now,
    lastActivity: now,
    topics: undefined,
    tokens: burst,
    tokensAt: now,
    warned: false,
    // Every field up front, so the object keeps one shape with its fields inline
    // (fields added later go to a separate property array: docs/decisions/connection-memory.md).
    socket: undefined,
    early: undefined,
    resumeFrom: undefined,
    held: undefined,
    presence: "pending",
  };
}

/** Why the periodic sweep closes a connection, or undefined to keep it. */
export type SweepVerdict = "idle" | "tokenExpired" | "tryAgain" | undefined;

/**
 * The sweep's decision for one connection: an open connection is closed when its client
 * sent nothing for `idleMs`, when its token expired, or when more than `maxBufferedBytes`
 * wait unsent (a reader too slow). Connections still opening are left alone.
 */
export function sweepVerdict(
  c: Connection,
  now: number,
  bufferedBytes: number,
  limits: { idleMs: number; maxBufferedBytes: number },
): SweepVerdict {
  if (c.state !== "open") return undefined;
  if (c.lastActivity < now - limits.idleMs) return "idle";
  if (c.identity.expiresAt !== undefined && c.identity.expiresAt < now) return "tokenExpired";
  if (bufferedBytes > limits.maxBufferedBytes) return "tryAgain";
  return undefined;
}

export type RateVerdict = "ok" | "warn" | "close";

/**
 * Token bucket: `perSecond` frames sustained, `burst` at once. Past empty, the client is
 * warned once; once it has spent a second burst's worth on credit, it is closed.
 */
export function takeFrameToken(c: Connection, now: number, perSecond: number, burst: number): RateVerdict {
  c.tokens = Math.min(burst, c.tokens + ((now - c.tokensAt) / 1000) * perSecond);
  c.tokensAt = now;
  c.tokens -= 1;
  if (c.tokens >= 0) {
    c.warned = false;
    return "ok";
  }
  if (c.tokens < -burst) return "close";
  if (c.warned) return "ok";
  c.warned = true;
  return "warn";
}
