import { randomUUID } from "node:crypto";
import type { Logger } from "@herald/observability";
import {
  BROADCAST_CHANNEL,
  CLOSE_CODES,
  channelAllowed,
  type ErrorCode,
  encodeFrame,
  PONG_FRAME,
  parseClientFrame,
  topicProblem,
  userChannel,
} from "@herald/protocol";
import type { RedisPresence } from "@herald/redis";
import { type Connection, newConnection, takeFrameToken } from "./connection.js";
import type { ConnectionPool } from "./connection-pool.js";
import type { EdgeMetrics } from "./edge-metrics.js";
import { Reply, STATUS } from "./http/respond.js";
import type { HttpRequest, HttpResponse, WebSocket } from "./native-uws.js";
import type { TokenVerifier } from "./token-verifier.js";
import type { TopicInterest } from "./topic-interest.js";

export interface SocketOptions {
  nodeId: string;
  heartbeatSeconds: number;
  maxFrameBytes: number;
  framesPerSecond: number;
  frameBurst: number;
  maxSubscriptions: number;
}

export interface SocketDeps {
  options: SocketOptions;
  pool: ConnectionPool<Ws>;
  topics: TopicInterest;
  presence: RedisPresence;
  verifier: TokenVerifier;
  metrics: EdgeMetrics;
  log: Logger;
  draining: () => boolean;
}

export type Conn = Connection<Ws>;

/** Frames a client may send before `welcome`; past this it is closed (1008). */
const MAX_EARLY_FRAMES = 32;
export type Ws = WebSocket<Conn>;

/** Closes a socket with a close frame, counting why. Safe on an already closed one. */
export function closeWith(conn: Conn, reason: keyof typeof CLOSE_CODES, metrics: EdgeMetrics, text: string): void {
  if (conn.state === "closed" || !conn.socket) return;
  metrics.closed.inc({ reason });
  conn.socket.end(CLOSE_CODES[reason].code, text);
}

/**
 * The `/v1/ws` behaviour: authenticates the upgrade, registers the connection, and
 * answers client frames. Bad input never throws out of here: it gets an error frame
 * or a close code, and other connections never notice.
 */
export function socketHandler(deps: SocketDeps) {
  const { options, pool, topics, presence, metrics, log } = deps;

  const sendError = (conn: Conn, code: ErrorCode, message: string, channel?: string) => {
    metrics.frameErrors.inc({ code });
    conn.socket?.send(
      encodeFrame(channel ? { type: "error", code, message, channel } : { type: "error", code, message }),
    );
  };
  const refuse = (res: HttpResponse, status: string, reason: string, message: string) => {
    metrics.upgradesRefused.inc({ reason });
    new Reply(res).json(status, { error: reason, message }, {}, true);
  };

  // Synchronous from start to end: uWS has corked the response for this call, and an upgrade
  // completed inside that cork costs one write for the 101 (an upgrade after an await had to go
  // uncorked, one write per header line, because uWS 20.30 can close a socket upgraded in a
  // later cork: uWebSockets #1928). Measured in docs/performance.md, "What bounds connection setup".
  const upgrade = (res: HttpResponse, req: HttpRequest, context: unknown): void => {
    if (deps.draining()) {
      refuse(res, STATUS.unavailable, "draining", "this node is draining; connect to another");
      return;
    }
    const header = req.getHeader("authorization");
    const token = req.getQuery("token") || (/^Bearer\s+(.+)$/i.exec(header)?.[1] ?? "");
    const verdict = deps.verifier.verify(token);
    if (!verdict.ok) {
      refuse(res, STATUS.unauthorized, "unauthorized", verdict.reason);
      return;
    }
    const userId = verdict.identity.userId;
    const admission = pool.admit(userId);
    if (admission === "node_full") {
      refuse(res, STATUS.unavailable, "node_full", "this node is at its connection limit");
      return;
    }
    if (admission === "user_full") {
      refuse(res, STATUS.tooMany, "user_full", "too many connections for this user");
      return;
    }
    const conn = newConnection<Ws>(randomUUID(), verdict.identity, Date.now(), options.frameBurst);
    const since = req.getQuery("since");
    if (since) conn.resumeFrom = since;
    res.upgrade(
      conn,
      req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol"),
      req.getHeader("sec-websocket-extensions"),
      context as never,
    );
  };

  const open = (ws: Ws): void => {
    const conn = ws.getUserData();
    conn.socket = ws;
    pool.add(conn);
    const userId = conn.identity.userId;
    presence.addConnection(userId).then(
      () => {
        if (conn.state !== "connecting") return;
        conn.state = "open";
        ws.subscribe(BROADCAST_CHANNEL);
        ws.cork(() =>
          ws.send(
            encodeFrame({
              type: "welcome",
              connectionId: conn.id,
              userId,
              nodeId: options.nodeId,
              heartbeat: options.heartbeatSeconds,
            }),
          ),
        );
        // History and `since` replay are not built yet: say so, so the client resynchronises.
        if (conn.resumeFrom !== undefined) {
          sendError(conn, "history_gap", "no history is kept yet: resynchronise", userChannel(userId));
        }
        const early = conn.early;
        conn.early = undefined;
        for (const text of early ?? []) handleFrame(conn, ws, text);
      },
      (err: unknown) => {
        log.error({ err, conn: conn.id }, "presence registration failed");
        closeWith(conn, "internal", metrics, "presence unavailable");
      },
    );
  };

  const subscribe = (conn: Conn, ws: Ws, channel: string, since: string | undefined): void => {
    if (channel === userChannel(conn.identity.userId) || channel === BROADCAST_CHANNEL) {
      ws.send(encodeFrame({ type: "subscribed", channel }));
      return;
    }
    const problem = topicProblem(channel);
    if (problem) {
      sendError(conn, "bad_frame", `channel ${problem}`, channel);
      return;
    }
    if (!channelAllowed(conn.identity.channels, channel)) {
      sendError(conn, "forbidden", "the token does not allow this channel", channel);
      return;
    }
    if (conn.topics?.has(channel)) {
      ws.send(encodeFrame({ type: "subscribed", channel }));
      return;
    }
    if ((conn.topics?.size ?? 0) >= options.maxSubscriptions) {
      sendError(conn, "too_many_subscriptions", `at most ${options.maxSubscriptions} per connection`, channel);
      return;
    }
    conn.topics ??= new Set();
    conn.topics.add(channel);
    ws.subscribe(channel);
    topics.join(channel).then(
      () => {
        if (conn.state !== "open" || !conn.topics?.has(channel)) return;
        if (since !== undefined) sendError(conn, "history_gap", "no history is kept yet: resynchronise", channel);
        ws.send(encodeFrame({ type: "subscribed", channel }));
      },
      (err: unknown) => {
        log.warn({ err, conn: conn.id }, "topic registration failed");
        if (conn.state !== "open") return;
        conn.topics?.delete(channel);
        ws.unsubscribe(channel);
        sendError(conn, "internal", "could not subscribe; retry", channel);
      },
    );
  };

  const message = (ws: Ws, data: ArrayBuffer, isBinary: boolean): void => {
    const conn = ws.getUserData();
    const now = Date.now();
    conn.lastActivity = now;
    if (data.byteLength > options.maxFrameBytes) {
      closeWith(conn, "tooBig", metrics, "frame too large");
      return;
    }
    const rate = takeFrameToken(conn, now, options.framesPerSecond, options.frameBurst);
    if (rate === "close") {
      closeWith(conn, "policy", metrics, "rate limited");
      return;
    }
    if (rate === "warn") sendError(conn, "rate_limited", `more than ${options.framesPerSecond} frames/s`);
    const text = isBinary ? undefined : Buffer.from(data).toString("utf8");
    if (conn.state === "connecting") {
      // A client may subscribe before `welcome` arrives; hold its frames (bounded) until the connection is live.
      conn.early ??= [];
      if (conn.early.length >= MAX_EARLY_FRAMES) closeWith(conn, "policy", metrics, "too many frames before welcome");
      else conn.early.push(text);
      return;
    }
    handleFrame(conn, ws, text);
  };

  /** Answers one client frame; `text` is undefined for a binary frame. */
  const handleFrame = (conn: Conn, ws: Ws, text: string | undefined): void => {
    if (text === undefined) {
      sendError(conn, "bad_frame", "frames are JSON text");
      return;
    }
    const parsed = parseClientFrame(text);
    if (!parsed.ok) {
      sendError(conn, "bad_frame", parsed.message);
      return;
    }
    const frame = parsed.frame;
    switch (frame.type) {
      case "ping":
        ws.send(PONG_FRAME);
        return;
      case "subscribe":
        subscribe(conn, ws, frame.channel, frame.since);
        return;
      case "unsubscribe":
        if (conn.topics?.delete(frame.channel)) {
          ws.unsubscribe(frame.channel);
          topics.leave(frame.channel);
        }
        ws.send(encodeFrame({ type: "unsubscribed", channel: frame.channel }));
        return;
      case "ack":
        return; // acknowledgements matter once delivery is at-least-once (client SDK issue)
    }
  };

  const close = (ws: Ws, code: number, reason: ArrayBuffer): void => {
    const conn = ws.getUserData();
    if (log.isLevelEnabled("debug")) {
      const text = Buffer.from(reason).toString();
      log.debug(
        { conn: conn.id, code, reason: text, state: conn.state, ms: Date.now() - conn.openedAt },
        "connection closed",
      );
    }
    conn.state = "closed";
    conn.socket = undefined;
    pool.release(conn);
    for (const t of conn.topics ?? []) topics.leave(t);
    conn.topics = undefined;
    // Redis runs commands in order, so this removal lands after the add even if that is still in flight.
    presence.removeConnection(conn.identity.userId).catch((err: unknown) => {
      log.warn({ err, conn: conn.id }, "presence removal failed");
    });
  };

  return { upgrade, open, message, close };
}
