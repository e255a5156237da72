import { type Delivery, deliveryChannel, deliveryHead, type Lane, laneOf } from "@herald/protocol";
import type { DeliveryBatch, DeliveryOutcome } from "@herald/routing";
import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";
import type { Destination, ScriptCalls, SlotReply } from "./script-calls.js";
import { keySlot } from "./slots.js";
import { type TurnSignals, waitForJob } from "./turn-signals.js";

/** How long a read of the live nodes is used for routing (ms); a holder it did not know is checked afresh. */
export const LIVE_NODES_CACHE_MS = 1000;

/** One script call's destinations: of one slot, or of several slots one master serves. */
interface SlotCall {
  /** The master serving them, as the connection last learned the slots ("host:port"), if known. */
  master: string | undefined;
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
  /** Wake-ups for jobs waiting for their publish turn; without them, a short poll. */
  signals?: TurnSignals | undefined;
}

/**
 * The cluster layout's publish (docs/scaling.md, "Redis Cluster"). A script touches the keys
 * of one master only (of one slot, unless it has checked that its master serves them all), so
 * one job's publish is split:
 * 1. the publish turn, on the queue's slot (turn-2.lua), waited for as in the standalone
 *    layout;
 * 2. per master serving its destinations' slots (a user's, a topic's, the broadcast's), one
 *    call that appends to history, reads the nodes holding each destination and publishes to
 *    the live ones on their channels on that master, in one atomic step (deliver-slot-n.lua).
 *    The live nodes come from a read at most `LIVE_NODES_CACHE_MS` old;
 * 3. holders a call did not publish to (not in that read: checked afresh; or with no channel on
 *    that master), and every holder when a master no longer serves all of a call's slots (a
 *    slot moving: one call per slot instead, appending only), get one SPUBLISH per node here;
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
  private live: { ids: Set<string>; dead: Set<string>; at: number } | undefined;
  /** Per master and node, which of the node's channels that master served last. */
  private readonly channelIndex = new Map<string, number>();
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
    const { scripts, keys, signals } = this.parts;
    const channel = keys.published(job.queue);
    const ask = () => scripts.turnBlocker(job.queue, job.id, ahead);
    for (;;) {
      // Signals count from before the check: one received earlier may be of a job since retried.
      const watched = signals?.follow(channel);
      const blocker = await ask();
      if (blocker === undefined) return;
      await waitForJob(blocker, ask, watched);
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
    const live = await this.liveNodes();
    await previous.appended;
    const pending = calls.map((c) => this.append(batch, c, live));
    mine.appended();
    const replies = await Promise.all(pending);
    const others = replies.flat().flatMap((r) => r.others);
    const { perNode, broadcasts, outcome } = route(calls, replies, await this.liveAmong(others));
    await previous.published;
    const sent = this.send(laneOf(batch.priority), perNode, broadcasts);
    mine.published();
    await sent;
    const job = batch.job ? { queue: batch.job.queue, jobId: batch.job.id } : undefined;
    if (batch.release > 0 || job) await scripts.publishDone(batch.priority, batch.release, job);
    return outcome;
  }

  /**
   * One call's appends and publishes, per master: each live node's deliveries go on its
   * channel on that master, in the same atomic step. When the master does not serve every
   * key and channel any more (a slot moved or is moving; the call then wrote nothing), one
   * call per slot instead, which appends and leaves every holder to the caller's publish.
   */
  private async append(batch: DeliveryBatch, call: SlotCall, live: ReadonlySet<string>): Promise<SlotReply[]> {
    const { scripts, unacked, keys } = this.parts;
    const lane = laneOf(batch.priority);
    const slotCall = (destinations: Destination[], perMaster?: string, publish = NO_PUBLISH) =>
      scripts.deliverSlot({ priority: batch.priority, destinations, unacked }, perMaster, publish);
    if (call.master !== undefined) {
      const broadcast = keys.broadcastChannel(lane);
      const publish = {
        channels: this.channelsOn(call.master, live, lane),
        broadcast: this.ownerOf(keySlot(broadcast)) === call.master ? broadcast : "",
      };
      // Routed by a channel of that master rather than a destination's key: a key of a slot being
      // moved would have the call redirected (ASK) to a master that does not hold the others.
      const anchor = publish.channels.values().next().value ?? (publish.broadcast || undefined);
      if (anchor !== undefined) {
        try {
          return await slotCall(call.destinations, anchor, publish);
        } catch {
          // fall through to one call per slot
        }
      }
    }
    return (await Promise.all(call.slots.map((d) => slotCall(d)))).flat();
  }

  /** The master serving a slot, as the connection last learned the slots. */
  private ownerOf(slot: number): string | undefined {
    return (this.parts.redis as unknown as { slots?: (string[] | undefined)[] }).slots?.[slot]?.[0];
  }

  /** Each live node's channel of the lane that `master` serves (a node with none there is left out). */
  private channelsOn(master: string, live: ReadonlySet<string>, lane: Lane): Map<string, string> {
    const channels = new Map<string, string>();
    for (const node of live) {
      const slots = this.parts.keys.nodeChannelSlots(node);
      const remembered = this.channelIndex.get(`${master} ${node}`);
      let index = remembered !== undefined && this.ownerOf(slots[remembered] as number) === master ? remembered : -1;
      if (index === -1) index = slots.findIndex((slot) => this.ownerOf(slot) === master);
      if (index === -1) continue;
      this.channelIndex.set(`${master} ${node}`, index);
      channels.set(node, this.parts.keys.nodeChannels(node, lane)[index] as string);
    }
    return channels;
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
        const master = owners?.[slot]?.[0] ?? "";
        const slots = byMaster.get(master) ?? new Map<number, Destination[]>();
        byMaster.set(master, slots);
        const list = slots.get(slot);
        if (list) list.push(d);
        else slots.set(slot, [d]);
      }
      for (const [master, slots] of byMaster) {
        const perSlot = [...slots.values()];
        calls.push({ master: master || undefined, destinations: perSlot.flat(), slots: perSlot });
      }
    }
    return calls;
  }

  /** The live nodes, from a read at most `LIVE_NODES_CACHE_MS` old. */
  private async liveNodes(): Promise<ReadonlySet<string>> {
    const cached = this.live;
    if (cached && Date.now() - cached.at <= LIVE_NODES_CACHE_MS) return cached.ids;
    return this.readLive();
  }

  /**
   * Which of `holders` (nodes a call did not publish to) are live: read afresh unless the last
   * read (at most `LIVE_NODES_CACHE_MS` old) knew each of them, live or found dead.
   */
  private async liveAmong(holders: readonly string[]): Promise<ReadonlySet<string>> {
    if (holders.length === 0) return EMPTY;
    const cached = this.live;
    const known = (h: string) => cached?.ids.has(h) || cached?.dead.has(h);
    if (cached && Date.now() - cached.at <= LIVE_NODES_CACHE_MS && holders.every(known)) return cached.ids;
    const ids = await this.readLive();
    for (const h of holders) if (!ids.has(h)) this.live?.dead.add(h);
    return ids;
  }

  private async readLive(): Promise<ReadonlySet<string>> {
    const at = Date.now();
    const ids = new Set(await this.parts.scripts.liveNodes());
    this.live = { ids, dead: new Set(), at };
    return ids;
  }

  /**
   * One SPUBLISH per node (kept for the node if it is not subscribed at that moment) and one
   * for the broadcasts, per payload of bounded size, all answered.
   */
  private async send(lane: Lane, perNode: Map<string, string[]>, broadcasts: string[]): Promise<void> {
    const { keys, redis, scripts } = this.parts;
    const publishes: Promise<unknown>[] = [];
    for (const [node, lines] of perNode) {
      const channel = keys.nodeChannel(node, lane);
      for (const payload of this.payloads(lines)) publishes.push(scripts.publishToNode(channel, payload));
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

/**
 * What the calls left to publish: each live holder they did not publish to gets its lines (in
 * call and destination order), broadcasts not published go on the broadcast channel; and
 * the destinations published to no live node.
 */
function route(calls: readonly SlotCall[], replies: readonly SlotReply[][], live: ReadonlySet<string>) {
  const left = { outcome: { unrouted: 0, kept: 0 }, perNode: new Map<string, string[]>(), broadcasts: [] as string[] };
  calls.forEach((call, i) => {
    call.destinations.forEach((d, j) => {
      routeOne(d, replies[i]?.[j] ?? { published: false, others: [] }, live, left);
    });
  });
  return left;
}

function routeOne(
  d: Destination,
  reply: SlotReply,
  live: ReadonlySet<string>,
  left: { outcome: DeliveryOutcome; perNode: Map<string, string[]>; broadcasts: string[] },
): void {
  const lines = () => d.deliveries.map((x) => deliveryHead(x) + x.frame);
  if (d.kind === "broadcast") {
    if (!reply.published) left.broadcasts.push(...lines());
    return;
  }
  const holders = reply.others.filter((node) => live.has(node));
  for (const node of holders) pushAll(left.perNode, node, lines());
  if (!reply.published && holders.length === 0) left.outcome[keeps(d) ? "kept" : "unrouted"] += 1;
}

/** When a publish's stages were written: its history calls (`appended`) and its payloads (`published`). */
interface Stages {
  appended: Promise<void>;
  published: Promise<void>;
}

const DONE: Promise<void> = Promise.resolve();
const EMPTY: ReadonlySet<string> = new Set();
const NO_PUBLISH = { channels: new Map<string, string>(), broadcast: "" };

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
