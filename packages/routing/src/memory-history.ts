import { type Delivery, deliveryChannel, type HistoryPolicy } from "@herald/protocol";
import type { History, ResumeRequest, ResumeResult } from "./history.js";

interface Entry {
  id: string;
  expires: number;
  frame: string;
  at: number;
}

/** History for `MemoryRouting`, with the Redis implementation's rules (append order, count and age limits). */
export class MemoryHistory implements History {
  private readonly channels = new Map<string, Entry[]>();
  private readonly unacked = new Map<string, Map<string, { expires: number; frame: string }>>();

  constructor(
    private readonly policy: HistoryPolicy,
    private readonly unackedCap = 1000,
  ) {}

  /** Appends a delivery of a message (one with an id) to its channel; returns whether it is kept. */
  append(d: Delivery, priority: string): boolean {
    if (d.id === undefined) return false;
    if (priority === "critical" && d.kind === "user") this.keepUnacked(d.target, d.id, d.expires ?? 0, d.frame);
    const channel = deliveryChannel(d.kind, d.target);
    const limits = this.policy.limitsFor(channel);
    if (limits.maxEntries === 0) return false;
    const now = Date.now();
    const list = this.channels.get(channel) ?? [];
    this.channels.set(channel, list);
    const expires = Math.min(d.expires || Number.POSITIVE_INFINITY, now + limits.maxAgeMs);
    list.push({ id: d.id, expires, frame: d.frame, at: now });
    while (list.length > limits.maxEntries || (list[0] && list[0].at < now - limits.maxAgeMs)) list.shift();
    return true;
  }

  resume(channel: string, request: ResumeRequest): Promise<ResumeResult> {
    const result: ResumeResult = { status: "none", unacked: [], entries: [] };
    if (request.userId !== undefined) {
      for (const [id, u] of this.unacked.get(request.userId) ?? []) result.unacked.push({ id, ...u });
    }
    if (request.since) {
      const list = this.channels.get(channel) ?? [];
      const at = list.findIndex((e) => e.id === request.since);
      const after = at === -1 ? [] : list.slice(at + 1);
      result.status = at === -1 ? "gap" : after.length > request.limit ? "too_many" : "replay";
      if (result.status === "replay") {
        result.entries = after.map(({ id, expires, frame }) => ({ id, expires, frame }));
      }
    }
    return later(result);
  }

  ack(userId: string, id: string): Promise<void> {
    this.unacked.get(userId)?.delete(id);
    return later(undefined);
  }

  private keepUnacked(userId: string, id: string, expires: number, frame: string): void {
    const map = this.unacked.get(userId) ?? new Map();
    this.unacked.set(userId, map);
    if (map.size < this.unackedCap) map.set(id, { expires, frame });
  }
}

/** Resolved on a later turn, as a reply from Redis would be. */
function later<T>(value: T): Promise<T> {
  return new Promise((resolve) => setImmediate(() => resolve(value)));
}
