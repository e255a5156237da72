import type { ScriptedRedis } from "./scripts.js";

/** Most interest changes in one script call. */
const MAX_CHANGES = 500;

interface Change {
  /** The interest hash (a user's presence or a topic's subscribers) and this node's index of them. */
  hash: string;
  index: string;
  member: string;
  delta: 1 | -1;
  resolve(count: number): void;
  reject(err: unknown): void;
}

/**
 * One node's interest changes (a connection or subscriber added or removed), gathered over
 * one turn of the event loop and sent as one script call, applied in call order.
 *
 * Why: a burst of connects (an edge restarting, clients reconnecting) asked Redis once per
 * connection; many changes a call cost the edge and Redis less per connection
 * (docs/performance.md, "What bounds connection setup and memory"). Each change's promise
 * settles with its own count once Redis applied the batch, so "resolved" still means
 * "messages routed from now on include this node".
 */
export class InterestBatch {
  private pending: Change[] = [];

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly nodeId: string,
  ) {}

  /** Adds `delta` to this node's count in `hash`; resolves with the new count. */
  change(hash: string, index: string, member: string, delta: 1 | -1): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ hash, index, member, delta, resolve, reject });
      if (this.pending.length >= MAX_CHANGES) this.send();
      else if (this.pending.length === 1) setImmediate(this.send);
    });
  }

  private readonly send = (): void => {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const keys: string[] = [];
    const args: (string | number)[] = [this.nodeId];
    for (const c of batch) {
      keys.push(c.hash, c.index);
      args.push(c.member, c.delta);
    }
    this.redis.heraldInterests(keys.length, ...keys, ...args).then(
      (counts) => {
        for (let i = 0; i < batch.length; i++) (batch[i] as Change).resolve(Number(counts[i]));
      },
      (err: unknown) => {
        for (const c of batch) c.reject(err);
      },
    );
  };
}
