import type { Logger } from "@herald/observability";
import { LANES, type Lane } from "@herald/protocol";
import type { Keys } from "@herald/redis";
import type { Redis } from "ioredis";
import { readBusBacklog, type SubscriberBacklog } from "./bus-backlog.js";

export interface EdgeBackpressureOptions {
  /** A lane pauses when any node's subscriber has more than this many bytes waiting in Redis; 0 turns it off. */
  highWaterBytes: number;
  /** How often Redis is asked (ms). */
  pollMs: number;
}

export interface BackpressureEvents {
  /** A lane paused or resumed; `behind` names the nodes over the mark when it paused. */
  onChange(lane: Lane, paused: boolean, behind: SubscriberBacklog[]): void;
  /** Largest backlog per lane at each poll, for the gauge. */
  onPoll(largest: Record<Lane, number>): void;
}

/**
 * Holds workers back while an edge falls behind. Redis pub/sub has no flow control: it
 * buffers whatever is published for a slow subscriber until its output-buffer limit, then
 * drops the connection and everything buffered. So workers watch those buffers and stop
 * fetching a lane's jobs while any node's subscriber for that lane holds more than the
 * high-water mark, resuming below half of it. Jobs already in flight still publish, so
 * the buffer can overshoot the mark by about one poll's worth of work.
 *
 * If Redis refuses CLIENT LIST (some managed services rename it), the workers run without
 * this guard, and say so once.
 */
export class EdgeBackpressure {
  private readonly paused: Record<Lane, boolean> = { urgent: false, bulk: false };
  private readonly waiters: Record<Lane, (() => void)[]> = { urgent: [], bulk: [] };
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private unsupported = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly options: EdgeBackpressureOptions,
    private readonly log: Logger,
    private readonly events: BackpressureEvents,
  ) {}

  start(): void {
    if (this.options.highWaterBytes <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const lane of LANES) this.set(lane, false, []);
  }

  isPaused(lane: Lane): boolean {
    return this.paused[lane];
  }

  /** Resolves at once when the lane runs, else when it resumes. */
  clear(lane: Lane): Promise<void> {
    return this.paused[lane] ? new Promise((r) => this.waiters[lane].push(r)) : Promise.resolve();
  }

  /** One look at the subscribers' buffers (the timer's tick). */
  async poll(): Promise<void> {
    if (this.polling || this.unsupported) return;
    this.polling = true;
    try {
      const backlog = await readBusBacklog(this.redis, this.keys);
      const largest: Record<Lane, number> = { urgent: 0, bulk: 0 };
      for (const b of backlog) largest[b.lane] = Math.max(largest[b.lane], b.bytes);
      this.events.onPoll(largest);
      const high = this.options.highWaterBytes;
      for (const lane of LANES) {
        if (!this.paused[lane] && largest[lane] > high) {
          this.set(
            lane,
            true,
            backlog.filter((b) => b.lane === lane && b.bytes > high),
          );
        } else if (this.paused[lane] && largest[lane] <= high / 2) {
          this.set(lane, false, []);
        }
      }
    } catch (err) {
      if (/unknown command|unknown subcommand|NOPERM/i.test((err as Error).message)) {
        this.unsupported = true;
        this.log.warn(
          { err: (err as Error).message },
          "Redis refuses CLIENT LIST: workers cannot see slow edges and will not hold back for them",
        );
        this.stop();
      }
      // Anything else (Redis down): keep the last decision; the next poll tries again.
    } finally {
      this.polling = false;
    }
  }

  private set(lane: Lane, paused: boolean, behind: SubscriberBacklog[]): void {
    if (this.paused[lane] === paused) return;
    this.paused[lane] = paused;
    this.events.onChange(lane, paused, behind);
    if (!paused) for (const wake of this.waiters[lane].splice(0)) wake();
  }
}
