import { setTimeout as sleep } from "node:timers/promises";
import { type Delivery, deliveryChannel, deliveryHead, type Lane, laneOf } from "@herald/protocol";
import type { DeliveryBatch, DeliveryOutcome } from "@herald/routing";
import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import type { Destination, ScriptCalls } from "./script-calls.js";
import { keySlot } from "./slots.js";

/** How long a read of the live nodes is used for routing (ms); a holder not in it is checked afresh. */
export const LIVE_NODES_CACHE_MS = 1000;
/** Longest a job waiting for its publish turn sleeps between tries (ms): it starts at 1 and doubles. */
const MAX_TURN_POLL_MS = 4;

/** One script call's destinations: of one slot, or of several slots one master serves. */
interface SlotCall {
  /** In slot order: the destinations of each slot, one after the other. */
  destinations: Destination[];
  /** Per slot, its destinations (for the per-slot calls a per-master call falls back to). */
  slots: Destination[][];
}

/** What the cluster publish needs of `RedisBus`. */
export interface ClusterPublishParts {
  keys: Keys;
  redis: Redis;
  scripts: ScriptCalls;
  unacked: { cap: number; retentionMs: number };
  /** A batch cut into calls (bounded deliveries and bytes), each grouped per destination. */
  destinationsOf(batch: DeliveryBatch): Destination[][];
  /** Most lines and bytes of one published payload. */
  maxLines: number;
  maxBytes: number;
}

/**
 * The cluster layout's publish (docs/scaling.md, "Redis Cluster"). A script can touch one
 * slot only, and a sharded channel is a key of its own slot, so one job's publish is split:
 * 1. the publish turn, on the queue's slot (turn-2.lua), waited for as in the standalone
 *    layout;
 * 2. per master serving its destinations' slots (a user's, a topic's, the broadcast's), one
 *    call that appends to history and reads the nodes holding each destination in one atomic
 *    step (deliver-slot-n.lua; per slot when that master no longer serves them all);
 * 3. the holders that are live (a read of the live nodes at most `LIVE_NODES_CACHE_MS` old;
 *    a holder missing from it is checked afresh) get one SPUBLISH per node on its channel,
 *    broadcasts one on the lane's broadcast channel;
 * 4. once those were answered, the pending count is released and the job marked published,
 *    on the queue's slot (publish-done-2.lua): the queue's next job may publish.
 * This process's own publishes of one queue are pipelined rather than waited for: each stage
 * (2 and 3) of a publish is written after the same stage of the publish before it, so one
 * channel's calls and one node's payloads leave in order on the connection to their master,
 * and a job's turn does not wait for this process's lower jobs in flight (they are ahead of
 * it on every connection). Jobs of other processes are waited for through the turn.
 * Batches without a job are ordered the same way, among themselves.
 */
export class ClusterPublisher {
  private live: { ids: Set<string>; at: number } | undefined;
  /**
   * Per queue, this process's publishes in flight, by job id: their stages, and the jobs each
   * follows (directly or through others); batches without a job in one chain.
   */
  private readonly inFlight = new Map<string, Map<number, { stages: Stages; after: Set<number> }>>();
  private unordered: Stages = { appended: DONE, published: DONE };

  constructor(private readonly parts: ClusterPublishParts) {}

  /**
   * A publish follows the stages of the highest lower job of its queue in flight here, and
   * does not wait at its turn for the jobs it so follows; never a higher one, so a job retried
   * after later ones were taken does not wait for them while they wait at their turn for it.
   */
  deliver(batch: DeliveryBatch): Promise<DeliveryOutcome> {
    const mine = new StageMarks();
    if (!batch.job) {
      const previous = this.unordered;
      this.unordered = mine.stages;
      return this.publish(batch, previous, mine, []).finally(() => mine.all());
    }
    const queue = this.inFlight.get(batch.job.queue) ?? new Map<number, { stages: Stages; after: Set<number> }>();
    this.inFlight.set(batch.job.queue, queue);
    const id = Number(batch.job.id);
    const lower = [...queue.keys()].filter((other) => other < id);
    const before = lower.length ? Math.max(...lower) : undefined;
    const entry = before === undefined ? undefined : queue.get(before);
    const after = new Set(entry ? [before as number, ...entry.after] : []);
    queue.set(id, { stages: mine.stages, after });
    const previous = entry?.stages ?? { appended: DONE, published: DONE };
    return this.publish(batch, previous, mine, [...after]).finally(() => {
      mine.all();
      queue.delete(id);
    });
  }

  private async waitForTurn(job: { queue: string; id: string }, ahead: readonly number[]): Promise<void> {
    const turn = { queue: job.queue, jobId: job.id };
    for (let waitMs = 1; (await this.parts.scripts.turn(turn, ahead)) !== undefined; ) {
      await sleep(waitMs);
      waitMs = Math.min(MAX_TURN_POLL_MS, waitMs * 2);
    }
  }

  private async publish(
    batch: DeliveryBatch,
    previous: Stages,
    mine: StageMarks,
    ahead: readonly number[],
  ): Promise<DeliveryOutcome> {
    const { scripts } = this.parts;
    if (batch.job) await this.waitForTurn(batch.job, ahead);
    const calls = this.slotCalls(batch);
    await previous.appended;
    const pending = calls.map((c) => this.append(batch, c));
    mine.appended();
    const replies = await Promise.all(pending);
    const live = await this.liveAmong(replies.flat(2));
    const { perNode, broadcasts, outcome } = route(calls, replies, live);
    await previous.published;
    const sent = this.send(laneOf(batch.priority), perNode, broadcasts);
    mine.published();
    await sent;
    const job = batch.job ? { queue: batch.job.queue, jobId: batch.job.id } : undefined;
    if (batch.release > 0 || job) await scripts.publishDone(batch.priority, batch.release, job);
    return outcome;
  }

  /**
   * One call's appends: per slot when it has one, else per master, falling back to one call
   * per slot when the master does not serve them all any more (a slot moved or is moving:
   * the per-master call then wrote nothing).
   */
  private async append(batch: DeliveryBatch, call: SlotCall): Promise<string[][]> {
    const { scripts, unacked } = this.parts;
    const slotCall = (destinations: Destination[], perMaster: boolean) =>
      scripts.deliverSlot({ priority: batch.priority, destinations, unacked }, perMaster);
    if (call.slots.length === 1) return slotCall(call.destinations, false);
    try {
      return await slotCall(call.destinations, true);
    } catch {
      return (await Promise.all(call.slots.map((d) => slotCall(d, false)))).flat();
    }
  }

  /**
   * The batch's calls, as the standalone layout cuts them, each split further by the master
   * serving its destinations' slots (as this connection last learned the slots), in order.
   */
  private slotCalls(batch: DeliveryBatch): SlotCall[] {
    const owners = (this.parts.redis as unknown as { slots?: (string[] | undefined)[] }).slots;
    const calls: SlotCall[] = [];
    for (const destinations of this.parts.destinationsOf(batch)) {
      const byMaster = new Map<string, Map<number, Destination[]>>();
      for (const d of destinations) {
        const slot = keySlot(this.parts.keys.history(deliveryChannel(d.kind, d.target)));
        const master = owners?.[slot]?.[0] ?? `slot ${slot}`;
        const slots = byMaster.get(master) ?? new Map<number, Destination[]>();
        byMaster.set(master, slots);
        const list = slots.get(slot);
        if (list) list.push(d);
        else slots.set(slot, [d]);
      }
      for (const slots of byMaster.values()) {
        const perSlot = [...slots.values()];
        calls.push({ destinations: perSlot.flat(), slots: perSlot });
      }
    }
    return calls;
  }

  /** Which of `holders` are live: from the cached read, read afresh when one is not in it or it is old. */
  private async liveAmong(holders: readonly string[]): Promise<Set<string>> {
    const now = Date.now();
    const cached = this.live;
    if (cached && now - cached.at <= LIVE_NODES_CACHE_MS && holders.every((h) => cached.ids.has(h))) {
      return cached.ids;
    }
    const ids = new Set(await this.parts.scripts.liveNodes());
    this.live = { ids, at: now };
    return ids;
  }

  /** One SPUBLISH per node (and one for the broadcasts) per payload of bounded size, all answered. */
  private async send(lane: Lane, perNode: Map<string, string[]>, broadcasts: string[]): Promise<void> {
    const { keys, redis } = this.parts;
    const publishes: Promise<unknown>[] = [];
    for (const [node, lines] of perNode) {
      for (const payload of this.payloads(lines)) publishes.push(redis.spublish(keys.nodeChannel(node, lane), payload));
    }
    for (const payload of this.payloads(broadcasts))
      publishes.push(redis.spublish(keys.broadcastChannel(lane), payload));
    await Promise.all(publishes);
  }

  /** Lines joined into payloads of at most `maxLines` lines and about `maxBytes` bytes. */
  private payloads(lines: readonly string[]): string[] {
    const out: string[] = [];
    let part: string[] = [];
    let bytes = 0;
    for (const line of lines) {
      if (part.length > 0 && (part.length >= this.parts.maxLines || bytes + line.length > this.parts.maxBytes)) {
        out.push(part.join("\n"));
        part = [];
        bytes = 0;
      }
      part.push(line);
      bytes += line.length + 1;
    }
    if (part.length > 0) out.push(part.join("\n"));
    return out;
  }
}

/** Each live holder's lines (in call and destination order), the broadcast lines, and what no live node holds. */
function route(calls: readonly SlotCall[], replies: readonly string[][][], live: ReadonlySet<string>) {
  const outcome = { unrouted: 0, kept: 0 };
  const perNode = new Map<string, string[]>();
  const broadcasts: string[] = [];
  calls.forEach((call, i) => {
    call.destinations.forEach((d, j) => {
      const lines = d.deliveries.map((x) => deliveryHead(x) + x.frame);
      if (d.kind === "broadcast") {
        broadcasts.push(...lines);
        return;
      }
      const holders = (replies[i]?.[j] ?? []).filter((node) => live.has(node));
      for (const node of holders) pushAll(perNode, node, lines);
      if (holders.length === 0) outcome[keeps(d) ? "kept" : "unrouted"] += 1;
    });
  });
  return { perNode, broadcasts, outcome };
}

/** When a publish's stages were written: its history calls (`appended`) and its payloads (`published`). */
interface Stages {
  appended: Promise<void>;
  published: Promise<void>;
}

const DONE: Promise<void> = Promise.resolve();

/** A publish's `Stages`, marked as it goes (`all` on its end, failed or not, so no later one waits forever). */
class StageMarks {
  readonly stages: Stages;
  readonly appended: () => void;
  readonly published: () => void;

  constructor() {
    let appended!: () => void;
    let published!: () => void;
    this.stages = {
      appended: new Promise<void>((r) => {
        appended = r;
      }),
      published: new Promise<void>((r) => {
        published = r;
      }),
    };
    this.appended = appended;
    this.published = published;
  }

  all(): void {
    this.appended();
    this.published();
  }
}

/** Whether a destination's deliveries are kept in history (only a message's: a canary's carry no id). */
function keeps(d: Destination): boolean {
  return d.history.maxEntries > 0 && d.deliveries.every((x: Delivery) => x.id !== undefined);
}

function pushAll(map: Map<string, string[]>, key: string, lines: readonly string[]): void {
  const list = map.get(key);
  if (list) list.push(...lines);
  else map.set(key, [...lines]);
}
