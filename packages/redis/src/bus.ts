import { type Delivery, deliveryChannel, HistoryPolicy, LANES, type Lane, laneOf } from "@herald/protocol";
import type { Bus, BusHandlers, BusSubscriber, DeliveryBatch, DeliveryOutcome } from "@herald/routing";
import type { Redis } from "ioredis";
import { ClusterPublisher } from "./cluster-bus.js";
import { onReconnect } from "./connection.js";
import type { Keys } from "./keys.js";
import { MissedPayloads, resubscribed } from "./missed-payloads.js";
import { type DeliverReply, type Destination, type PublishTurn, ScriptCalls } from "./script-calls.js";
import type { ScriptedRedis } from "./scripts.js";
import { type TurnSignals, waitForJob } from "./turn-signals.js";

/**
 * Most deliveries one script call routes, and so most lines in one payload an edge takes
 * whole: without a bound, one job to many users each became a single huge PUBLISH that held
 * the edge's event loop and could pass Redis's output-buffer limit for a subscriber
 * (docs/decisions/delivery-calls.md).
 */
export const MAX_DELIVERIES_PER_CALL = 100;
/**
 * Most bytes of delivery lines one script call carries (a single larger delivery goes alone):
 * a few large messages to many users made publishes of tens of megabytes, past Redis's
 * output-buffer limit for a subscriber, which drops it and everything buffered for it.
 */
export const MAX_BYTES_PER_CALL = 1 << 20;

/** What the workers' bus keeps besides publishing. */
export interface BusKeeping {
  /** Each channel's history limits. */
  history: HistoryPolicy;
  /** Most unacknowledged critical messages kept per user, and for how long at most. */
  unacked: { cap: number; retentionMs: number };
}

const NO_KEEPING: BusKeeping = { history: HistoryPolicy.off(), unacked: { cap: 0, retentionMs: 1 } };

/**
 * `Bus` over Redis pub/sub: one Lua call per batch (deliver-n.lua) appends each message's
 * deliveries to their channels' histories, routes each user's and topic's lines to the live
 * nodes that hold them and PUBLISHes one payload per node (broadcasts: one PUBLISH for all
 * nodes), on the lane's channels.
 * A batch larger than MAX_DELIVERIES_PER_CALL or MAX_BYTES_PER_CALL goes as several calls, pipelined in order:
 * each is atomic, not all together, so a connection lost between them can publish part of
 * a batch, and the job's retry repeats that part (as a lost reply could).
 * A batch with a job waits for its turn (see `DeliveryBatch.job`): its first call is sent
 * alone; when refused, it waits for the job ahead to be signalled published (`TurnSignals`,
 * or a short poll without them), asks again with a check that carries no deliveries, and
 * sends the call again once no lower job of the queue is unpublished; the rest follow it.
 */
export class RedisBus implements Bus {
  private readonly scripts: ScriptCalls;
  /** The cluster layout's publish (several calls per batch), in place of deliver-n.lua's one. */
  private readonly cluster: ClusterPublisher | undefined;

  /**
   * `signals`: wake-ups for jobs waiting for their publish turn (a subscriber connection of
   * the worker's own); without them a waiting job polls every few milliseconds.
   */
  constructor(
    private readonly keys: Keys,
    redis: ScriptedRedis,
    private readonly keeping: BusKeeping = NO_KEEPING,
    private readonly signals?: TurnSignals,
  ) {
    this.scripts = new ScriptCalls(redis, keys);
    this.cluster = keys.cluster
      ? new ClusterPublisher({
          keys,
          redis,
          scripts: this.scripts,
          unacked: keeping.unacked,
          destinationsOf: (batch) => splitIntoCalls(batch.deliveries).map((part) => this.destinations(part)),
          maxLines: MAX_DELIVERIES_PER_CALL,
          maxBytes: MAX_BYTES_PER_CALL,
          signals,
        })
      : undefined;
  }

  /**
   * Without a job, the commands are written to the connection before this returns (the
   * promise only waits for the replies), so batches delivered in some order reach Redis in
   * that order. The last call of a split batch releases the pending count.
   */
  deliver(batch: DeliveryBatch): Promise<DeliveryOutcome> {
    if (this.cluster) return this.cluster.deliver(batch);
    const parts = splitIntoCalls(batch.deliveries);
    if (batch.job) return this.deliverInTurn(batch, parts, batch.job);
    return sumOutcomes(parts.map((part, i) => this.call(batch, part, i === parts.length - 1)));
  }

  private async deliverInTurn(
    batch: DeliveryBatch,
    parts: readonly (readonly Delivery[])[],
    job: { queue: string; id: string },
  ): Promise<DeliveryOutcome> {
    const last = parts.length - 1;
    const turn = (i: number) => ({ queue: job.queue, jobId: job.id, first: i === 0, last: i === last });
    const channel = this.keys.published(job.queue);
    let signals = this.signals?.follow(channel);
    let first = await this.call(batch, parts[0] ?? [], last === 0, turn(0));
    while (!first.ok) {
      // Refused: wait for the job ahead (checks that send nothing else), then send the deliveries again.
      await waitForJob(first.waitFor, () => this.scripts.turnBlocker(job.queue, job.id), signals);
      signals = this.signals?.follow(channel);
      first = await this.call(batch, parts[0] ?? [], last === 0, turn(0));
    }
    const rest = parts.slice(1).map((part, i) => this.call(batch, part, i + 1 === last, turn(i + 1)));
    return sumOutcomes([Promise.resolve(first), ...rest]);
  }

  private call(batch: DeliveryBatch, part: readonly Delivery[], last: boolean, turn?: PublishTurn) {
    return this.scripts.deliver({
      lane: laneOf(batch.priority),
      priority: batch.priority,
      destinations: this.destinations(part),
      release: last ? batch.release : 0,
      turn,
      unacked: this.keeping.unacked,
    });
  }

  /** One call's deliveries grouped per user, topic and broadcast, each with its channel's history limits. */
  private destinations(part: readonly Delivery[]): Destination[] {
    const byDestination = new Map<string, { kind: Delivery["kind"]; target: string; deliveries: Delivery[] }>();
    for (const d of part) {
      const id = d.kind === "user" ? `u${d.target}` : d.kind === "topic" ? `t${d.target}` : "b";
      const entry = byDestination.get(id);
      if (entry) entry.deliveries.push(d);
      else byDestination.set(id, { kind: d.kind, target: d.target, deliveries: [d] });
    }
    const policy = this.keeping.history;
    return [...byDestination.values()].map((e) => ({
      ...e,
      history: policy.limitsFor(deliveryChannel(e.kind, e.target)),
    }));
  }
}

/** A batch's deliveries cut into calls of at most MAX_DELIVERIES_PER_CALL deliveries and MAX_BYTES_PER_CALL bytes of frames. */
function splitIntoCalls(deliveries: readonly Delivery[]): Delivery[][] {
  const parts: Delivery[][] = [];
  let part: Delivery[] = [];
  let bytes = 0;
  for (const d of deliveries) {
    const size = d.frame.length + d.target.length + 32;
    if (part.length > 0 && (part.length >= MAX_DELIVERIES_PER_CALL || bytes + size > MAX_BYTES_PER_CALL)) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(d);
    bytes += size;
  }
  parts.push(part);
  return parts;
}

async function sumOutcomes(calls: readonly Promise<DeliverReply>[]): Promise<DeliveryOutcome> {
  const total = { unrouted: 0, kept: 0 };
  for (const reply of await Promise.all(calls)) {
    if (!reply.ok) throw new Error(`publish turn refused a call after the first (waiting for job ${reply.waitFor})`);
    total.unrouted += reply.unrouted;
    total.kept += reply.kept;
  }
  return total;
}

/**
 * `BusSubscriber` over Redis pub/sub: two subscriber connections, one per lane, each taking
 * this node's channel and the broadcast channel of its lane. Pausing a lane stops reading
 * its socket, so what is published meanwhile waits in Redis's output buffer for that
 * connection, where workers see it (and hold back) rather than in the edge's memory. What
 * was published to this node while a lane's connection was down is taken from Redis once it
 * has subscribed again (MissedPayloads), on `commands`.
 */
export class RedisBusSubscriber implements BusSubscriber {
  private readonly missed: MissedPayloads;

  constructor(
    private readonly keys: Keys,
    private readonly subscribers: Readonly<Record<Lane, Redis>>,
    private readonly nodeId: string,
    commands: ScriptedRedis,
  ) {
    this.missed = new MissedPayloads(new ScriptCalls(commands, keys), (lane) => [keys.nodeChannel(nodeId, lane)]);
  }

  /** Subscribes both lanes; resolves once Redis confirmed, so deliveries published afterwards arrive. */
  async start(handlers: BusHandlers): Promise<void> {
    await Promise.all(
      LANES.map(async (lane) => {
        const mine = this.keys.nodeChannel(this.nodeId, lane);
        const all = this.keys.broadcastChannel(lane);
        const subscriber = this.subscribers[lane];
        const deliver = (payload: string) => handlers.onPayload(lane, payload);
        const confirmed = () => resubscribed([subscriber]);
        onReconnect(subscriber, () => {
          void this.missed.catchUp(lane, confirmed, deliver).then((handed) => handlers.onResubscribed(lane, handed));
        });
        subscriber.on("message", (channel: string, payload: string) => {
          if ((channel === mine || channel === all) && !this.missed.holds(lane, payload)) deliver(payload);
        });
        await subscriber.subscribe(mine, all);
        void this.missed.forget(lane);
      }),
    );
  }

  pause(lane: Lane): void {
    this.subscribers[lane].stream?.pause();
  }

  resume(lane: Lane): void {
    this.subscribers[lane].stream?.resume();
  }
}
