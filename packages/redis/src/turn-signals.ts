import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";

/** Most published job ids remembered per queue, for a waiter that asks after the signal came. */
const REMEMBERED = 1024;

/**
 * Tells a job waiting for its publish turn when the job it waits for has published, instead
 * of leaving it to poll: the publish that marks a job published also publishes the job's id
 * on the queue's signal channel (named as its published set; sharded in cluster mode, so it
 * stays on the queue's slot). With several worker processes the turn passes from one to the
 * other at every job, and a poll interval at each hand-over bounded the whole queue's rate.
 *
 * A signal is only a wake-up: the waiter asks Redis again before it publishes, and a signal
 * lost (a reconnect, a subscription not yet confirmed) costs a wait up to the poll interval.
 * Publishing never waits for the subscription.
 */
export class TurnSignals {
  private readonly watching = new Map<string, Promise<void>>();
  /** Per channel, each remembered job id with the number of the signal that announced it. */
  private readonly seen = new Map<string, Map<string, number>>();
  private readonly waiters = new Map<string, Set<(signalled: boolean) => void>>();
  private received = 0;

  constructor(
    private readonly subscriber: Redis,
    private readonly sharded: boolean,
  ) {
    subscriber.on(sharded ? "smessage" : "message", (channel: string, id: string) => this.published(channel, id));
  }

  /**
   * Subscribes to a queue's signal channel, once; publishing does not wait for it. Resolves
   * when Redis confirmed, or the subscribe failed (then tried again at the next call).
   */
  watch(channel: string): Promise<void> {
    let watched = this.watching.get(channel);
    if (!watched) {
      const subscribed = this.sharded ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel);
      watched = subscribed.then(
        () => undefined,
        () => {
          this.watching.delete(channel);
        },
      );
      this.watching.set(channel, watched);
    }
    return watched;
  }

  /**
   * What a job about to ask for its turn waits with: the queue's channel (subscribed to in the
   * background) and the mark to count signals from. Take it anew before each check or call
   * that may be refused.
   */
  follow(channel: string): TurnWatch {
    void this.watch(channel);
    return { turns: this, channel, since: this.mark() };
  }

  /** The number of the latest signal received: `until` counts only signals after it. */
  mark(): number {
    return this.received;
  }

  /**
   * Resolves with true once job `id` is signalled published on `channel` by a signal received
   * after `since` (from `mark`, taken before the call that was refused), with false after
   * `timeoutMs`. An older signal does not count: the job may have been retried since.
   */
  until(channel: string, id: string, since: number, timeoutMs: number): Promise<boolean> {
    if ((this.seen.get(channel)?.get(id) ?? 0) > since) return Promise.resolve(true);
    const key = `${channel}\n${id}`;
    return new Promise((resolve) => {
      let wakes = this.waiters.get(key);
      if (!wakes) {
        wakes = new Set();
        this.waiters.set(key, wakes);
      }
      const set = wakes;
      const wake = (signalled: boolean) => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
        resolve(signalled);
      };
      const timer = setTimeout(() => wake(false), timeoutMs);
      set.add(wake);
    });
  }

  private published(channel: string, id: string): void {
    let ids = this.seen.get(channel);
    if (!ids) {
      ids = new Map();
      this.seen.set(channel, ids);
    }
    ids.delete(id); // re-inserted last: the oldest are dropped first
    ids.set(id, ++this.received);
    if (ids.size > REMEMBERED) ids.delete(ids.keys().next().value as string);
    const wakes = this.waiters.get(`${channel}\n${id}`);
    if (wakes) for (const wake of [...wakes]) wake(true);
  }
}

/** A queue's signals as a waiting job uses them: the channel, and the mark taken before its refused call. */
export interface TurnWatch {
  turns: TurnSignals;
  channel: string;
  since: number;
}

/**
 * Waits for job `blocker` to publish: until it is signalled published (with `signals`), or
 * until `ask`, asked each time a while has passed (a little longer each time, at most 8 ms),
 * finds no job to wait for. Either way the caller checks its turn again before it publishes:
 * a job may wait for several.
 */
export async function waitForJob(
  blocker: string,
  ask: () => Promise<string | undefined>,
  signals: TurnWatch | undefined,
): Promise<void> {
  let waitMs = signals ? 2 : 1;
  const maxMs = signals ? 8 : 4;
  for (let waiting: string | undefined = blocker; waiting !== undefined; waiting = await ask()) {
    if (signals) {
      if (await signals.turns.until(signals.channel, waiting, signals.since, waitMs)) return;
    } else await sleep(waitMs);
    waitMs = Math.min(maxMs, waitMs * 2);
  }
}
