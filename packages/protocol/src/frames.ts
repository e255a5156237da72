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
 * Encodes one message's frames, for any number of channels: everything but the channel
 * is serialised once. Byte for byte what JSON.stringify gives for the frame object, with
 * keys in a fixed order (type, id, channel, event, priority, data, ts) for readability.
 * Why not JSON.stringify per frame: a message to N users was serialised N times, and the
 * object built for it each time was garbage at once.
 */
export function messageFrameEncoder(f: Omit<MessageFrame, "type" | "channel">): (channel: string) => string {
  const head = `{"type":"message","id":${JSON.stringify(f.id)},"channel":`;
  // A handler may hand back data JSON cannot express (a function): null, never "undefined".
  const data = JSON.stringify(f.data ?? null) ?? "null";
  const tail = `,"event":${JSON.stringify(f.event)},"priority":${JSON.stringify(f.priority)},"data":${data},"ts":${JSON.stringify(f.ts)}}`;
  return (channel) => head + JSON.stringify(channel) + tail;
}

const ID_FIELD = '{"type":"message","id":';

/**
 * The id of a message frame made by `messageFrameEncoder`, read without parsing it (the id
 * comes first, a JSON string of Herald's id alphabet, no escapes); undefined for any other text.
 */
export function frameMessageId(frame: string): string | undefined {
  if (!frame.startsWith(ID_FIELD) || frame.charCodeAt(ID_FIELD.length) !== 34) return undefined;
  const end = frame.indexOf('"', ID_FIELD.length + 1);
  return end === -1 ? undefined : frame.slice(ID_FIELD.length + 1, end);
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
