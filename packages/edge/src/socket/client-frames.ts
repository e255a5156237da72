import { PONG_FRAME, parseClientFrame } from "@herald/protocol";
import { takeFrameToken } from "../connection.js";
import { type Conn, closeWith, sendError } from "./client-socket.js";
import type { SocketContext } from "./socket-context.js";
import { subscribe, unsubscribe } from "./subscriptions.js";

/** Frames a client may send before `welcome`; past this it is closed (1008). */
export const MAX_EARLY_FRAMES = 32;

/**
 * One frame from a client, as it arrives: size and rate limits first, then either held
 * (the connection is not live yet: answered after `welcome`, in order) or answered.
 * `text` is undefined for a binary frame; `bytes` is the frame's size.
 */
export function receiveFrame(ctx: SocketContext, conn: Conn, text: string | undefined, bytes: number, now: number) {
  const { options, metrics } = ctx;
  conn.lastActivity = now;
  if (bytes > options.maxFrameBytes) {
    closeWith(conn, "tooBig", metrics, "frame too large");
    return;
  }
  const rate = takeFrameToken(conn, now, options.framesPerSecond, options.frameBurst);
  if (rate === "close") {
    closeWith(conn, "policy", metrics, "rate limited");
    return;
  }
  if (rate === "warn") sendError(conn, metrics, "rate_limited", `more than ${options.framesPerSecond} frames/s`);
  if (conn.state === "connecting") {
    conn.early ??= [];
    if (conn.early.length >= MAX_EARLY_FRAMES) closeWith(conn, "policy", metrics, "too many frames before welcome");
    else conn.early.push(text);
    return;
  }
  answerFrame(ctx, conn, text);
}

/** Answers one client frame of a live connection. Bad input gets an error frame, never a throw. */
export function answerFrame(ctx: SocketContext, conn: Conn, text: string | undefined): void {
  if (text === undefined) {
    sendError(conn, ctx.metrics, "bad_frame", "frames are JSON text");
    return;
  }
  const parsed = parseClientFrame(text);
  if (!parsed.ok) {
    sendError(conn, ctx.metrics, "bad_frame", parsed.message);
    return;
  }
  const frame = parsed.frame;
  switch (frame.type) {
    case "ping":
      conn.socket?.send(PONG_FRAME);
      return;
    case "subscribe":
      subscribe(ctx, conn, frame.channel, frame.since);
      return;
    case "unsubscribe":
      unsubscribe(ctx, conn, frame.channel);
      return;
    case "ack":
      acknowledge(ctx, conn, frame.id);
      return;
  }
}

/** A critical message acknowledged: it is no longer re-sent to the user's connections. */
function acknowledge(ctx: SocketContext, conn: Conn, id: string): void {
  ctx.metrics.acks.inc();
  ctx.history.ack(conn.identity.userId, id).catch((err: unknown) => {
    ctx.log.warn({ err, conn: conn.id }, "could not record an acknowledgement: the message may be re-sent");
  });
}
