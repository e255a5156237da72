/**
 * Lets urgent work (critical, high) go first inside one worker process: while an urgent
 * job is in flight, bulk consumers (normal, low) fetch nothing new, so the event loop,
 * the Redis connection and the CPU go to the urgent job instead of to ten bulk jobs.
 * Bulk jobs already started finish normally; nothing is dropped.
 */
export class UrgencyGate {
  private active = 0;
  private waiters: (() => void)[] = [];
  /** When an urgent job last entered (ms, on `now`); -Infinity before the first. */
  private lastEntered = Number.NEGATIVE_INFINITY;

  /** `now`: the clock (ms) that `flowing` windows are measured on; tests pass their own. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Marks an urgent job in flight until the returned function is called. */
  enter(): () => void {
    this.active++;
    this.lastEntered = this.now();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.active === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  /**
   * Resolves at once when no urgent job is in flight, else when the last one leaves, or
   * after `maxWaitMs` if given (its waiter is then dropped, so waits never pile up).
   */
  clear(maxWaitMs?: number): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      if (maxWaitMs === undefined) {
        this.waiters.push(resolve);
        return;
      }
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(wake);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve();
      }, maxWaitMs);
      this.waiters.push(wake);
    });
  }

  /** Callers waiting for the gate to clear (for tests). */
  get waiting(): number {
    return this.waiters.length;
  }

  get busy(): boolean {
    return this.active > 0;
  }

  /** True while an urgent job is in flight or one entered within the last `windowMs`. */
  flowing(windowMs: number): boolean {
    return this.active > 0 || this.now() - this.lastEntered < windowMs;
  }
}
