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
 * lost (a reconnect) costs a wait up to the poll interval, as before.
 */
export class TurnSignals {
  private readonly watching = new Map<string, Promise<void>>();
  private readonly seen = new Map<string, Set<string>>();
  private readonly waiters = new Map<string, Set<(signalled: boolean) => void>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly sharded: boolean,
  ) {
    subscriber.on(sharded ? "smessage" : "message", (channel: string, id: string) => this.published(channel, id));
  }

  /** Subscribes to a queue's signal channel (once); resolves when Redis confirmed it. */
  watch(channel: string): Promise<void> {
    let watched = this.watching.get(channel);
    if (!watched) {
      const subscribed = this.sharded ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel);
      watched = subscribed.then(() => undefined);
      watched.catch(() => this.watching.delete(channel)); // asked again by the next wait
      this.watching.set(channel, watched);
    }
    return watched;
  }

  /** Resolves with true once job `id` is signalled published on `channel`, with false after `timeoutMs`. */
  until(channel: string, id: string, timeoutMs: number): Promise<boolean> {
    if (this.seen.get(channel)?.has(id)) return Promise.resolve(true);
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
      ids = new Set();
      this.seen.set(channel, ids);
    }
    ids.add(id);
    if (ids.size > REMEMBERED) ids.delete(ids.values().next().value as string);
    const wakes = this.waiters.get(`${channel}\n${id}`);
    if (wakes) for (const wake of [...wakes]) wake(true);
  }
}

/**
 * Waits for job `blocker` to publish: until it is signalled published (with `signals`), or
 * until `ask`, asked each time a while has passed (a little longer each time), finds no job
 * to wait for. Either way the caller checks its turn again before it publishes: a job may
 * wait for several.
 */
export async function waitForJob(
  blocker: string,
  ask: () => Promise<string | undefined>,
  signals: { turns: TurnSignals; channel: string } | undefined,
): Promise<void> {
  // Without signals, a short poll; with them, the poll only covers a lost signal or a dead blocker.
  let waitMs = signals ? 4 : 1;
  const maxMs = signals ? 32 : 4;
  for (let waiting: string | undefined = blocker; waiting !== undefined; waiting = await ask()) {
    if (signals) {
      if (await signals.turns.until(signals.channel, waiting, waitMs)) return;
    } else await sleep(waitMs);
    waitMs = Math.min(maxMs, waitMs * 2);
  }
}
