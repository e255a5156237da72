import { setTimeout as sleep } from "node:timers/promises";

/** Where the pacer reads the time (ms) and waits. */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<unknown>;
}

const REAL_CLOCK: PacerClock = { now: () => performance.now(), sleep };

/** Longest rest owed at any time, however long the bulk jobs ran (a slow handler's wait counts). */
const MAX_REST_MS = 100;

/**
 * While urgent work flows, lets bulk jobs (normal, low) use at most `share` of a worker's
 * time: a bulk job that ran d ms makes the next one start d·(1/share − 1) ms later.
 *
 * Why: on saturated cores an urgent message waits for CPU in every process it crosses, and
 * every bulk job is work in all of them (this worker, Redis, the edges). Resting the bulk lane
 * leaves them headroom, at the price of a slower drain (docs/decisions/lanes.md). Without
 * urgent traffic, nothing rests: the caller reports only jobs that ran while urgent work flowed.
 */
export class BulkPacer {
  private readonly restPerMs: number;
  /** When the next bulk job may start (performance.now() ms). */
  private restUntil = 0;

  /**
   * `share` in (0, 1]; 1 never rests. `onRest` hears of each rest taken, in ms. `clock` is
   * where time is read and waited for (tests pass one whose waits move it at once).
   */
  constructor(
    share: number,
    private readonly onRest: (ms: number) => void,
    private readonly clock: PacerClock = REAL_CLOCK,
  ) {
    if (!(share > 0 && share <= 1)) throw new RangeError(`bulk share must be in (0, 1], got ${share}`);
    this.restPerMs = 1 / share - 1;
  }

  /** Resolves when the next bulk job may start. */
  async turn(): Promise<void> {
    const wait = this.restUntil - this.clock.now();
    if (wait <= 0) return;
    await this.clock.sleep(wait);
    this.onRest(wait);
  }

  /** Records a bulk job that ran `ms` while urgent work flowed. */
  ran(ms: number): void {
    if (this.restPerMs === 0) return;
    const now = this.clock.now();
    this.restUntil = Math.min(Math.max(this.restUntil, now) + ms * this.restPerMs, now + MAX_REST_MS);
  }

  /** How long the next bulk job would wait now, ms (for tests). */
  get owed(): number {
    return Math.max(0, this.restUntil - this.clock.now());
  }
}
