import type { InterestChange, ScriptCalls } from "./script-calls.js";

/** Most interest changes in one script call. */
const MAX_CHANGES = 500;

interface Pending extends InterestChange {
  resolve(count: number): void;
  reject(err: unknown): void;
}

/**
 * One node's interest changes (a connection or subscriber added or removed), gathered over
 * one turn of the event loop and sent as one script call, applied in call order, so a burst
 * of connects costs the edge and Redis one call per turn rather than one per connection
 * (docs/decisions/interest-batching.md). Each change's promise settles with its own count
 * once Redis applied the batch, so "resolved" still means "messages routed from now on
 * include this node".
 */
export class InterestBatch {
  private pending: Pending[] = [];

  constructor(
    private readonly scripts: ScriptCalls,
    private readonly nodeId: string,
  ) {}

  /** Adds `delta` to this node's count for a user or topic; resolves with the new count. */
  change(kind: InterestChange["kind"], member: string, delta: 1 | -1): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ kind, member, delta, resolve, reject });
      if (this.pending.length >= MAX_CHANGES) this.send();
      else if (this.pending.length === 1) setImmediate(this.send);
    });
  }

  /** Sends what is gathered now, so that a command issued next lands after it. */
  flush(): void {
    this.send();
  }

  private readonly send = (): void => {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.scripts.interests(this.nodeId, batch).then(
      (counts) => {
        for (let i = 0; i < batch.length; i++) (batch[i] as Pending).resolve(counts[i] as number);
      },
      (err: unknown) => {
        for (const c of batch) c.reject(err);
      },
    );
  };
}
