import { BROADCAST_CHANNEL, type Delivery, frameMessageId, userChannel } from "@herald/protocol";
import type { ResumeResult } from "@herald/routing";
import type { ChannelCatchUp } from "../held-deliveries.js";
import { type Conn, closeWith, sendError } from "./client-socket.js";
import type { SocketContext } from "./socket-context.js";

/**
 * Catches a connection up on one channel whose live deliveries are being held (see
 * HeldDeliveries), then lets them flow: reads the channel's history after `since` (and, on
 * the user's own channel, the user's unacknowledged critical messages), and writes, in one
 * corked burst: `history_gap` if the replay is impossible, the unacknowledged messages, the
 * replay in channel order, then what was held, each message once (by id: a message has one
 * id and appears once in a channel). Registration came first, so whatever was published
 * after the read arrived live and was held: no gap; what arrived live before the read is
 * also in the replay, and sent once: no duplicate.
 */
export async function catchUp(
  ctx: SocketContext,
  conn: Conn,
  channel: string,
  since: string | undefined,
  hold: ChannelCatchUp,
): Promise<void> {
  const own = channel === userChannel(conn.identity.userId);
  let result: ResumeResult | undefined;
  try {
    result = await ctx.history.resume(channel, {
      since,
      userId: own ? conn.identity.userId : undefined,
      limit: ctx.options.replayLimit,
    });
  } catch (err) {
    ctx.log.warn({ err, conn: conn.id, channel }, "history unavailable: live only");
  }
  const held = ctx.held.take(conn, channel, hold);
  const ws = conn.socket;
  if (held === undefined || conn.state !== "open" || !ws) return; // released or superseded meanwhile
  const topic = !own && channel !== BROADCAST_CHANNEL;
  if (topic && !conn.topics?.has(channel)) return; // unsubscribed meanwhile
  if (ctx.held.overflowedOn(conn)) {
    closeWith(conn, "tryAgain", ctx.metrics, "fell behind while catching up: resume with since");
    return;
  }
  let sent: ReadonlySet<string> = new Set();
  ws.cork(() => {
    sent = writeCatchUp(ctx, conn, channel, since, result, held);
  });
  // Late copies of what was sent are dropped for a while; then a topic goes live through uWS.
  ctx.held.filterLateCopies(conn, channel, hold, sent, () => {
    if (!own && conn.state === "open") ws.subscribe(channel);
  });
  if (ws.getBufferedAmount() > ctx.options.maxBackpressureBytes) {
    closeWith(conn, "tryAgain", ctx.metrics, "too slow to read its replay");
  }
}

function writeCatchUp(
  ctx: SocketContext,
  conn: Conn,
  channel: string,
  since: string | undefined,
  result: ResumeResult | undefined,
  held: readonly Delivery[],
): ReadonlySet<string> {
  const sent = new Set<string>();
  const ws = conn.socket;
  if (!ws) return sent;
  if (since !== undefined && result?.status !== "replay") {
    sendError(conn, ctx.metrics, "history_gap", gapMessage(result, ctx.options.replayLimit), channel);
  }
  const send = (id: string | undefined, frame: string) => {
    if (id !== undefined) {
      if (sent.has(id)) return;
      sent.add(id);
    }
    ws.send(frame, false, false);
  };
  const now = Date.now();
  const live = (expires: number) => expires === 0 || expires > now;
  const unacked = [...(result?.unacked ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const u of unacked) if (live(u.expires)) send(u.id, u.frame);
  const entries = result?.entries ?? [];
  for (const e of entries) if (live(e.expires)) send(e.id, e.frame);
  for (const d of held) send(frameMessageId(d.frame), d.frame);
  ctx.metrics.replayed.inc(entries.length);
  return sent;
}

function gapMessage(result: ResumeResult | undefined, limit: number): string {
  if (result === undefined) return "history is unavailable: resynchronise";
  if (result.status === "too_many") return `more than ${limit} messages were missed: resynchronise`;
  return "`since` is not in this channel's history (older than what is kept, or unknown): resynchronise";
}
