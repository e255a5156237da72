import { BROADCAST_CHANNEL, channelAllowed, encodeFrame, topicProblem, userChannel } from "@herald/protocol";
import { type Conn, sendError } from "./client-socket.js";
import { catchUp } from "./resume.js";
import type { SocketContext } from "./socket-context.js";

/**
 * Subscribes a connection to a topic. `subscribed` is sent once this node is registered for
 * the topic, so a message accepted after it reaches the connection. With `since`, the
 * topic's live deliveries are held from the start, and the replay follows `subscribed`
 * (see catchUp). The user's own channel and `broadcast` are always delivered: subscribing
 * to them only confirms.
 */
export function subscribe(ctx: SocketContext, conn: Conn, channel: string, since: string | undefined): void {
  const ws = conn.socket;
  if (!ws) return;
  if (channel === BROADCAST_CHANNEL && since !== undefined) {
    // Broadcasts are held, off the uWS topic, while the broadcast history is replayed.
    ws.unsubscribe(BROADCAST_CHANNEL);
    const hold = ctx.held.holdTopic(conn, BROADCAST_CHANNEL);
    ws.send(encodeFrame({ type: "subscribed", channel }));
    void catchUp(ctx, conn, channel, since, hold);
    return;
  }
  if (channel === userChannel(conn.identity.userId) || channel === BROADCAST_CHANNEL) {
    ws.send(encodeFrame({ type: "subscribed", channel }));
    return;
  }
  const refusal = refusalOf(ctx, conn, channel);
  if (refusal) {
    sendError(conn, ctx.metrics, refusal.code, refusal.message, channel);
    return;
  }
  if (conn.topics?.has(channel)) {
    // Subscribed already, but maybe not live yet: confirm once the registration landed (if
    // it fails, the first subscribe's answer says so).
    (ctx.topics.whenReady(channel) ?? Promise.resolve()).then(() => {
      if (conn.state === "open" && conn.topics?.has(channel)) ws.send(encodeFrame({ type: "subscribed", channel }));
    }, answeredByTheFirstSubscribe);
    return;
  }
  conn.topics ??= new Set();
  conn.topics.add(channel);
  const hold = since === undefined ? undefined : ctx.held.holdTopic(conn, channel);
  if (!hold) ws.subscribe(channel);
  ctx.topics.join(channel).then(
    () => {
      if (conn.state !== "open" || !conn.topics?.has(channel)) return;
      ws.send(encodeFrame({ type: "subscribed", channel }));
      if (hold) void catchUp(ctx, conn, channel, since, hold);
    },
    (err: unknown) => {
      ctx.log.warn({ err, conn: conn.id }, "topic registration failed");
      if (conn.state !== "open") return;
      conn.topics?.delete(channel);
      ctx.held.release(conn, channel);
      ws.unsubscribe(channel);
      sendError(conn, ctx.metrics, "internal", "could not subscribe; retry", channel);
    },
  );
}

/** Unsubscribes; answers `unsubscribed` whether or not the connection held the topic. */
export function unsubscribe(ctx: SocketContext, conn: Conn, channel: string): void {
  const ws = conn.socket;
  if (!ws) return;
  if (conn.topics?.delete(channel)) {
    ctx.held.release(conn, channel);
    ws.unsubscribe(channel);
    ctx.topics.leave(channel);
  }
  ws.send(encodeFrame({ type: "unsubscribed", channel }));
}

/** Leaves every topic of a closed connection. */
export function leaveAll(ctx: SocketContext, conn: Conn): void {
  for (const t of conn.topics ?? []) ctx.topics.leave(t);
  conn.topics = undefined;
}

function refusalOf(ctx: SocketContext, conn: Conn, channel: string) {
  const problem = topicProblem(channel);
  if (problem) return { code: "bad_frame", message: `channel ${problem}` } as const;
  if (!channelAllowed(conn.identity.channels, channel)) {
    return { code: "forbidden", message: "the token does not allow this channel" } as const;
  }
  const max = ctx.options.maxSubscriptions;
  if (!conn.topics?.has(channel) && (conn.topics?.size ?? 0) >= max) {
    return { code: "too_many_subscriptions", message: `at most ${max} per connection` } as const;
  }
  return undefined;
}

/** A failed registration is answered (error `internal`) by the subscribe that started it. */
function answeredByTheFirstSubscribe(_err: unknown): void {
  // nothing more to say to the client
}
