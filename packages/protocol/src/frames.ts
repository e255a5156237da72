import { z } from "zod";
import type { ErrorCode } from "./codes.js";
import type { Priority } from "./priorities.js";

// ---- server -> client ----

export interface WelcomeFrame {
  type: "welcome";
  connectionId: string;
  userId: string;
  nodeId: string;
  /** Seconds between server heartbeats (WebSocket pings). */
  heartbeat: number;
}
export interface MessageFrame {
  type: "message";
  id: string;
  channel: string;
  event: string;
  priority: Priority;
  data: unknown;
  ts: number;
}
export type ServerFrame =
  | WelcomeFrame
  | MessageFrame
  | { type: "subscribed"; channel: string }
  | { type: "unsubscribed"; channel: string }
  | { type: "error"; code: ErrorCode; message: string; channel?: string }
  | { type: "pong" };

/**
 * Encodes a message frame. Called once per message and channel on the worker, so
 * every connection receives the same bytes; key order is fixed for readability.
 */
export function encodeMessageFrame(f: Omit<MessageFrame, "type">): string {
  return JSON.stringify({
    type: "message",
    id: f.id,
    channel: f.channel,
    event: f.event,
    priority: f.priority,
    data: f.data ?? null,
    ts: f.ts,
  });
}

export function encodeFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

export const PONG_FRAME = encodeFrame({ type: "pong" });

// ---- client -> server ----

const channelField = z.string().min(1).max(256);
export const clientFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribe"), channel: channelField, since: z.string().max(64).optional() }),
  z.object({ type: z.literal("unsubscribe"), channel: channelField }),
  z.object({ type: z.literal("ack"), id: z.string().max(64) }),
  z.object({ type: z.literal("ping") }),
]);
export type ClientFrame = z.infer<typeof clientFrameSchema>;

export type ClientFrameResult = { ok: true; frame: ClientFrame } | { ok: false; message: string };

export function parseClientFrame(text: string): ClientFrameResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: "not valid JSON" };
  }
  const r = clientFrameSchema.safeParse(json);
  if (r.success) return { ok: true, frame: r.data };
  const issue = r.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  return { ok: false, message: `${where}${issue?.message ?? "invalid frame"}` };
}
