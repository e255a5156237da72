import type { Backoff } from "./backoff.js";

export type Priority = "critical" | "high" | "normal" | "low";

/** A message as the edge delivers it. `id` is ordered within a channel; `ts` is when it was accepted (ms). */
export interface Message<T = unknown> {
  id: string;
  /** `user:<id>` for a message to the user, the topic's name, or `broadcast`. */
  channel: string;
  event: string;
  priority: Priority;
  data: T;
  ts: number;
}

/** The edge's `welcome` frame: the connection is live. `heartbeat` is seconds between the edge's pings. */
export interface Welcome {
  connectionId: string;
  userId: string;
  nodeId: string;
  heartbeat: number;
}

export type State = "connecting" | "live" | "reconnecting" | "closed";

/**
 * A change of connection state:
 * - `connecting`: a socket is opening to `url` (`attempt` failed attempts since the last live connection);
 * - `live`: `welcome` came (`welcome`);
 * - `reconnecting`: the connection closed with `code`/`reason`; the next attempt starts in `delayMs`;
 * - `closed`: for good, with `code`/`reason` (1000 after `close()`, or a code not to retry on).
 */
export interface StateChange {
  state: State;
  url?: string;
  attempt?: number;
  welcome?: Welcome;
  code?: number;
  reason?: string;
  delayMs?: number;
}

/**
 * Something went wrong that the client cannot fix alone. `code` is one of the protocol's error
 * codes (`forbidden`, `bad_frame`, `rate_limited`, `too_many_subscriptions`, `internal`) when the
 * edge sent it, or `handler` (an application handler threw or rejected: the message is not
 * acknowledged), `token` (`getToken` failed), `url` (the `url` function failed) or `socket` (the
 * WebSocket could not be created).
 */
export interface ClientError {
  code: string;
  message: string;
  channel?: string;
  cause?: unknown;
}

export type MessageHandler<T = unknown> = (message: Message<T>) => void | Promise<void>;

export interface ClientEvents {
  message: MessageHandler;
  state: (change: StateChange) => void;
  /** The edge could not replay `channel` from the last id seen: messages may be missing; resynchronise. */
  history_gap: (channel: string) => void;
  /** A topic subscription is live (also after each reconnect). */
  subscribed: (channel: string) => void;
  error: (error: ClientError) => void;
}

/** Timers and clock; injectable for tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ConnectOptions {
  /**
   * The edge's WebSocket URL (`ws://host:port/v1/ws`); a list, tried in turn, one per attempt;
   * or a function called before each attempt.
   */
  url: string | readonly string[] | ((attempt: number) => string | Promise<string>);
  /** A token that does not expire while the client runs; or use `getToken`. */
  token?: string;
  /**
   * Fetches a token: before the first attempt, after the edge closed with 4001 (token expired),
   * and after an attempt that failed before `welcome` (the token may have been refused).
   */
  getToken?: () => string | Promise<string>;
  /** A WebSocket constructor (in Node 20: `ws`'s `WebSocket`); default: the global `WebSocket`. */
  WebSocket?: new (
    url: string,
  ) => unknown;
  /** Reconnect back-off bounds. */
  backoff?: Backoff;
  /** Acknowledge critical messages once every handler returned (default `true`); else call `ack(id)`. */
  autoAck?: boolean;
  /** How long to wait, past the edge's heartbeat, for a sign of life before reconnecting (default 10,000 ms). */
  heartbeatGraceMs?: number;
  /** How long to wait for `welcome` after starting to connect (default 15,000 ms). */
  connectTimeoutMs?: number;
  /**
   * Send `{"type":"ping"}` after each heartbeat interval without a frame, which also keeps the
   * edge's idle timeout away. Always on where the socket cannot report the edge's pings (browsers).
   */
  keepAlive?: boolean;
  /**
   * Most frames sent per second, with bursts of twice that (default 40): keep it under the
   * edge's HERALD_MAX_FRAMES_PER_SECOND. Frames past it wait their turn.
   */
  maxFramesPerSecond?: number;
  /** Ids remembered per channel to drop repeats (default 500). */
  dedupeWindow?: number;
  /** Last ids seen per channel, from `client.lastIds()` of an earlier session, to resume from. */
  resume?: Record<string, string>;
  /** For tests: the random source of the back-off jitter, and the clock. */
  random?: () => number;
  clock?: Clock;
}

/** The part of a WebSocket the client uses: the browser's, `ws`'s and undici's all fit. */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: its events, among them the edge's pings. */
  on?(event: "ping", fn: () => void): unknown;
  removeAllListeners?(event: "ping"): unknown;
  /** `ws` only: drop the socket without a closing handshake. */
  terminate?(): void;
}
