/**
 * Lets urgent work (critical, high) go first inside one worker process: while an urgent
 * job is in flight, bulk consumers (normal, low) fetch nothing new, so the event loop,
 * the Redis connection and the CPU go to the urgent job instead of to ten bulk jobs.
 * Bulk jobs already started finish normally; nothing is dropped.
 */
export class UrgencyGate {
  private active = 0;
  private waiters: (() => void)[] = [];

  /** Marks an urgent job in flight until the returned function is called. */
  enter(): () => void {
    this.active++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.active === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  /** Resolves at once when no urgent job is in flight, else when the last one leaves. */
  clear(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }

  get busy(): boolean {
    return this.active > 0;
  }
}
