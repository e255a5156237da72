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

/** One script call's destinations, all of one slot. */
interface SlotCall {
  destinations: Destination[];
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
 * 2. per slot of its destinations (a user's, a topic's, the broadcast's), one call that appends
 *    to history and reads the nodes holding each destination in one atomic step
 *    (deliver-slot-n.lua);
 * 3. the holders that are live (a read of the live nodes at most `LIVE_NODES_CACHE_MS` old;
 *    a holder missing from it is checked afresh) get one SPUBLISH per node on its channel,
 *    broadcasts one on the lane's broadcast channel;
 * 4. once those were answered, the pending count is released and the job marked published,
 *    on the queue's slot (publish-done-2.lua): the queue's next job may publish.
 * A job waits for this process's own lower jobs of its queue to finish their publish before
 * it asks for the turn (instead of polling for it); batches without a job publish in order.
 */
export class ClusterPublisher {
  private live: { ids: Set<string>; at: number } | undefined;
  /** Per queue, the publishes of this process in flight, by job id. */
  private readonly inFlight = new Map<string, Map<number, Promise<unknown>>>();
  private unordered: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: ClusterPublishParts) {}

  deliver(batch: DeliveryBatch): Promise<DeliveryOutcome> {
    const job = batch.job;
    if (!job) {
      const run = this.unordered.then(() => this.publish(batch));
      this.unordered = run.catch(ignore);
      return run;
    }
    const queue = this.inFlight.get(job.queue) ?? new Map<number, Promise<unknown>>();
    this.inFlight.set(job.queue, queue);
    const id = Number(job.id);
    const earlier = [...queue].filter(([other]) => other < id).map(([, p]) => p);
    const run = (async () => {
      await Promise.allSettled(earlier);
      await this.waitForTurn(job.queue, job.id);
      return this.publish(batch);
    })();
    const settled = run.catch(ignore).finally(() => queue.delete(id));
    queue.set(id, settled);
    return run;
  }

  private async waitForTurn(queue: string, jobId: string): Promise<void> {
    for (let waitMs = 1; (await this.parts.scripts.turn({ queue, jobId })) !== undefined; ) {
      await sleep(waitMs);
      waitMs = Math.min(MAX_TURN_POLL_MS, waitMs * 2);
    }
  }

  private async publish(batch: DeliveryBatch): Promise<DeliveryOutcome> {
    const { scripts, unacked } = this.parts;
    const calls = this.slotCalls(batch);
    const replies = await Promise.all(
      calls.map((c) => scripts.deliverSlot({ priority: batch.priority, destinations: c.destinations, unacked })),
    );
    const outcome = { unrouted: 0, kept: 0 };
    const perNode = new Map<string, string[]>();
    const broadcasts: string[] = [];
    const live = await this.liveAmong(replies.flat(2));
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
    await this.send(laneOf(batch.priority), perNode, broadcasts);
    const job = batch.job ? { queue: batch.job.queue, jobId: batch.job.id } : undefined;
    if (batch.release > 0 || job) await scripts.publishDone(batch.priority, batch.release, job);
    return outcome;
  }

  /** The batch's calls, as the standalone layout cuts them, each split further by slot (in order). */
  private slotCalls(batch: DeliveryBatch): SlotCall[] {
    const calls: SlotCall[] = [];
    for (const destinations of this.parts.destinationsOf(batch)) {
      const bySlot = new Map<number, SlotCall>();
      for (const d of destinations) {
        const slot = keySlot(this.parts.keys.history(deliveryChannel(d.kind, d.target)));
        const call = bySlot.get(slot) ?? { destinations: [] };
        call.destinations.push(d);
        bySlot.set(slot, call);
      }
      calls.push(...bySlot.values());
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

/** Whether a destination's deliveries are kept in history (only a message's: a canary's carry no id). */
function keeps(d: Destination): boolean {
  return d.history.maxEntries > 0 && d.deliveries.every((x: Delivery) => x.id !== undefined);
}

function pushAll(map: Map<string, string[]>, key: string, lines: readonly string[]): void {
  const list = map.get(key);
  if (list) list.push(...lines);
  else map.set(key, [...lines]);
}

/** A failed publish is the caller's to handle (its promise rejects); the chain only waits for it. */
function ignore(_err: unknown): void {
  // the rejection reaches the caller through the promise `deliver` returned
}
