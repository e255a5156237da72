import { PRIORITIES, type Priority } from "./priorities.js";

/**
 * The wire format between workers and edges (the bus payload), part of the protocol: a
 * worker and an edge of different versions must agree on it.
 *
 * What a worker sends a node over pub/sub: deliveries packed many to a PUBLISH,
 * one per line. A line is `<kind><priority>\t<ts>\t<target>\t<frame>`, where the
 * frame is the finished client frame (encoded once on the worker, written as is).
 * JSON never contains a raw newline, and user ids and topics cannot contain tabs
 * or newlines (protocol refuses control characters), so the framing is safe.
 */
export type DeliveryKind = "user" | "topic" | "broadcast";

export interface Delivery {
  kind: DeliveryKind;
  /** User id, topic name, or "" for a broadcast. */
  target: string;
  priority: Priority;
  /** When the message was accepted (ms), for the latency histogram. */
  ts: number;
  /** The client frame, JSON text. */
  frame: string;
  /** The message's id: set on a message's deliveries (a canary's have none), it lets history keep them. */
  id?: string | undefined;
  /** When the message expires (ms since the epoch), if it has a ttl: history replays it only until then. */
  expires?: number | undefined;
}

const KIND_CHAR: Record<DeliveryKind, string> = { user: "u", topic: "t", broadcast: "b" };
const CHAR_KIND: Record<string, DeliveryKind> = { u: "user", t: "topic", b: "broadcast" };

export function encodeDelivery(d: Delivery): string {
  return deliveryHead(d) + d.frame;
}

/** A line up to its frame. */
export function deliveryHead(d: Pick<Delivery, "kind" | "priority" | "ts" | "target">): string {
  return `${KIND_CHAR[d.kind]}${PRIORITIES.indexOf(d.priority)}\t${d.ts}\t${d.target}\t`;
}

export function encodeDeliveries(list: readonly Delivery[]): string {
  return list.map(encodeDelivery).join("\n");
}

/**
 * Whether a packed payload holds a topic or broadcast delivery (an `app.publish` on the
 * edge) rather than only user deliveries. A line starts a payload or follows a newline,
 * and frames hold no raw newline, so the kind characters can be found without decoding.
 */
export function carriesPublishes(payload: string): boolean {
  const first = payload.charAt(0);
  return (
    first === KIND_CHAR.topic ||
    first === KIND_CHAR.broadcast ||
    payload.includes(`\n${KIND_CHAR.topic}`) ||
    payload.includes(`\n${KIND_CHAR.broadcast}`)
  );
}

/** Calls `each` for every well-formed line; returns how many lines were malformed. */
export function decodeDeliveries(payload: string, each: (d: Delivery) => void): number {
  let bad = 0;
  let start = 0;
  while (start < payload.length) {
    let end = payload.indexOf("\n", start);
    if (end === -1) end = payload.length;
    const t1 = payload.indexOf("\t", start);
    const t2 = t1 === -1 ? -1 : payload.indexOf("\t", t1 + 1);
    const t3 = t2 === -1 ? -1 : payload.indexOf("\t", t2 + 1);
    const kind = CHAR_KIND[payload.charAt(start)];
    const priority = PRIORITIES[payload.charCodeAt(start + 1) - 48];
    if (t3 === -1 || t3 > end || !kind || !priority) {
      bad++;
    } else {
      each({
        kind,
        priority,
        ts: Number(payload.slice(t1 + 1, t2)),
        target: payload.slice(t2 + 1, t3),
        frame: payload.slice(t3 + 1, end),
      });
    }
    start = end + 1;
  }
  return bad;
}
