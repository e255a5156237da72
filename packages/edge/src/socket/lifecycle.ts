import { BROADCAST_CHANNEL, encodeFrame, userChannel } from "@herald/protocol";
import { answerFrame } from "./client-frames.js";
import { type ClientSocket, type Conn, closeWith } from "./client-socket.js";
import { catchUp } from "./resume.js";
import type { SocketContext } from "./socket-context.js";
import { leaveAll } from "./subscriptions.js";

/**
 * A connection's socket opened: it joins the pool, holding its user channel's deliveries,
 * then this node registers the user, and only then is `welcome` sent (so a message accepted
 * after `welcome` reaches it), followed by the catch-up on the user channel (unacknowledged
 * critical messages, the replay after `?since=`, then what was held) and the answers to any
 * frames the client sent early.
 */
export function openConnection(ctx: SocketContext, conn: Conn, ws: ClientSocket): void {
  conn.socket = ws;
  const hold = ctx.held.holdUser(conn);
  ctx.pool.add(conn);
  const userId = conn.identity.userId;
  ctx.presence.addConnection(userId).then(
    () => {
      conn.presence = "registered";
      if (conn.state === "closed") {
        unregister(ctx, conn); // closed while the registration was in flight
        return;
      }
      if (conn.state !== "connecting") return;
      conn.state = "open";
      ws.subscribe(BROADCAST_CHANNEL);
      ws.cork(() => ws.send(welcomeFrame(ctx, conn)));
      void catchUp(ctx, conn, userChannel(userId), conn.resumeFrom, hold);
      const early = conn.early;
      conn.early = undefined;
      for (const text of early ?? []) answerFrame(ctx, conn, text);
    },
    (err: unknown) => {
      conn.presence = "none";
      ctx.log.error({ err, conn: conn.id }, "presence registration failed");
      closeWith(conn, "internal", ctx.metrics, "presence unavailable");
    },
  );
}

/** A connection closed (by either side): it leaves the pool, its topics and this node's presence. */
export function closeConnection(ctx: SocketContext, conn: Conn): void {
  conn.state = "closed";
  conn.socket = undefined;
  ctx.pool.release(conn);
  ctx.held.releaseAll(conn);
  leaveAll(ctx, conn);
  // A registration still in flight is undone when it lands (see openConnection); one that failed never counted.
  if (conn.presence === "registered") unregister(ctx, conn);
}

function unregister(ctx: SocketContext, conn: Conn): void {
  conn.presence = "none";
  ctx.presence.removeConnection(conn.identity.userId).catch((err: unknown) => {
    ctx.log.warn({ err, conn: conn.id }, "presence removal failed");
  });
}

function welcomeFrame(ctx: SocketContext, conn: Conn): string {
  return encodeFrame({
    type: "welcome",
    connectionId: conn.id,
    userId: conn.identity.userId,
    nodeId: ctx.options.nodeId,
    heartbeat: ctx.options.heartbeatSeconds,
  });
}
