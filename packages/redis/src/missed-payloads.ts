import { setTimeout as sleep } from "node:timers/promises";
import type { Lane } from "@herald/protocol";
import type { Redis } from "ioredis";
import type { ScriptCalls } from "./script-calls.js";

/** How long live payloads wait for the take after a resubscribe (Redis may still be coming back), tried this often. */
const HOLD_MS = 2000;
const TAKE_RETRY_MS = 200;
/** A last take this long after a catch-up, for a payload kept as a subscription was being confirmed. */
const LAST_TAKE_MS = 1000;
/** How long the publish keeps payloads for a node (MISSED_TTL_MS in lua/includes/keep-missed.lua). */
const MISSED_TTL_MS = 60_000;

/**
 * The payloads the publish kept for this node while a lane's subscription was down
 * (lua/includes/keep-missed.lua: a PUBLISH no subscriber took; Redis restarted, or the
 * connection was coming back). Once the lane has subscribed again they are taken (each list
 * read and deleted in one step, so a payload is handed over once) and handed over before
 * what arrived live since, which waits meanwhile: a connection the edge held throughout gets
 * every delivery, in order.
 */
export class MissedPayloads {
  /** Per lane, while a catch-up runs: the live payloads waiting for it. */
  private readonly waiting: Partial<Record<Lane, string[]>> = {};
  /** Per lane: resubscribed again while its catch-up ran, so it takes once more. */
  private readonly again: Partial<Record<Lane, boolean>> = {};

  /** `wait`: the pause between tries (a test's clock). */
  constructor(
    private readonly scripts: Pick<ScriptCalls, "takeMissed">,
    private readonly channels: (lane: Lane) => readonly string[],
    private readonly wait: (ms: number) => Promise<unknown> = sleep,
  ) {}

  /** True when a live payload must wait for its lane's catch-up: it is kept and handed over after. */
  holds(lane: Lane, payload: string): boolean {
    const waiting = this.waiting[lane];
    if (waiting === undefined) return false;
    waiting.push(payload);
    return true;
  }

  /**
   * At start: drops what was kept for an earlier process with this node id. Its connections
   * are gone; their clients resume with `since` wherever they reconnect. Tried until it
   * succeeds or what was kept has expired (the command connection may come up after the
   * subscribers); never rejects, and nothing waits for it.
   */
  async forget(lane: Lane): Promise<void> {
    try {
      await this.take(lane, MISSED_TTL_MS);
    } catch {
      // Redis never answered while the kept payloads lasted: they have expired, nothing is left to drop.
    }
  }

  /**
   * After `lane` subscribed again: once `confirmed` resolves (the subscription is in effect,
   * so whatever is published from then on arrives), hands what was kept to `deliver`, then
   * what arrived live meanwhile, which waits for it (for HOLD_MS at most: if Redis does not
   * answer the take by then, what waited goes on, and the kept payloads follow when it does).
   * Resolves with how many kept payloads were handed over, or undefined when Redis did not
   * answer until they expired; never rejects.
   */
  async catchUp(
    lane: Lane,
    confirmed: () => Promise<unknown>,
    deliver: (payload: string) => void,
  ): Promise<number | undefined> {
    if (this.waiting[lane] !== undefined) {
      this.again[lane] = true;
      return 0;
    }
    const waiting: string[] = [];
    this.waiting[lane] = waiting;
    let handed = 0;
    try {
      do {
        this.again[lane] = false;
        await confirmed();
        handed += handOver(await this.take(lane, HOLD_MS), deliver);
      } while (this.again[lane]);
    } catch {
      // Redis did not answer in time: what waited goes on now, the take goes on below.
    } finally {
      this.waiting[lane] = undefined;
      for (const payload of waiting) deliver(payload);
    }
    await this.wait(LAST_TAKE_MS);
    if (this.waiting[lane] !== undefined) return handed; // another catch-up took over
    // A last take: a payload kept as the subscription was being confirmed, or all of them if
    // Redis was too slow above (then handed over after newer ones rather than never).
    try {
      return handed + handOver(await this.take(lane, MISSED_TTL_MS), deliver);
    } catch {
      return undefined; // Redis never answered while the kept payloads lasted: the caller is told
    }
  }

  /** Takes every channel's kept payloads, trying again every TAKE_RETRY_MS for `withinMs`. */
  private async take(lane: Lane, withinMs: number): Promise<string[]> {
    for (let waited = 0; ; waited += TAKE_RETRY_MS) {
      try {
        return await this.takeAll(lane);
      } catch (err) {
        if (waited >= withinMs) throw err;
        await this.wait(TAKE_RETRY_MS);
      }
    }
  }

  /** Every channel's kept payloads, channel after channel (a destination's always go on one channel). */
  private async takeAll(lane: Lane): Promise<string[]> {
    const lists = await Promise.all(this.channels(lane).map((c) => this.scripts.takeMissed(c)));
    return lists.flat();
  }
}

function handOver(payloads: readonly string[], deliver: (payload: string) => void): number {
  for (const payload of payloads) deliver(payload);
  return payloads.length;
}

/**
 * Resolves once the subscriptions of these subscriber connections are in effect again after a
 * reconnect: ioredis emits "ready" and then resubscribes, so a PING sent a turn later on each
 * connection is answered after its subscribe commands.
 */
export async function resubscribed(connections: readonly Redis[]): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.all(connections.map((r) => r.ping()));
}
