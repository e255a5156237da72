import { encodeDelivery, HistoryPolicy, LANES, type Lane, laneOf, type Priority } from "@herald/protocol";
import type { Bus, BusHandlers, BusSubscriber, DeliveryBatch, DeliveryOutcome } from "./bus.js";
import type { History } from "./history.js";
import { MemoryHistory } from "./memory-history.js";
import type { Heartbeat, InterestSnapshot, Presence, UserPresence } from "./presence.js";

type Counts = Map<string, Map<string, number>>;

/**
 * Presence and bus for nodes in one process, with the guarantees of the Redis
 * implementation (routing at publish time, order per lane, at most once, asynchronous
 * arrival): for unit tests of the edge, and as the second implementation
 * the routing conformance suite runs against. Not for production: nothing is shared
 * between processes.
 */
export class MemoryRouting {
  private readonly users: Counts = new Map();
  private readonly topics: Counts = new Map();
  private readonly live = new Set<string>();
  /** Nodes that heartbeated at least once: only those can be found dead (as in Redis's heartbeat set). */
  private readonly known = new Set<string>();
  private readonly subscribers = new Map<string, MemoryBusSubscriber>();
  /** Pending counts released by published batches, per priority. */
  readonly released: Record<Priority, number> = { critical: 0, high: 0, normal: 0, low: 0 };
  private readonly store: MemoryHistory;

  constructor(options: { history?: HistoryPolicy } = {}) {
    this.store = new MemoryHistory(options.history ?? HistoryPolicy.off());
  }

  history(): History {
    return this.store;
  }

  presence(nodeId: string): Presence {
    return new MemoryPresence(this, nodeId);
  }

  subscriber(nodeId: string): BusSubscriber {
    const s = new MemoryBusSubscriber();
    this.subscribers.set(nodeId, s);
    return s;
  }

  bus(): Bus {
    return { deliver: (batch) => Promise.resolve(this.deliver(batch)) };
  }

  /** Marks a node dead, as a node that stopped heartbeating: the next heartbeat of another node reaps it. */
  kill(nodeId: string): void {
    this.live.delete(nodeId);
    this.subscribers.delete(nodeId);
  }

  /** Payloads published to a node's lane and not yet handed to it (a paused lane holds them). */
  held(nodeId: string, lane: Lane): number {
    return this.subscribers.get(nodeId)?.held(lane) ?? 0;
  }

  /** @internal */
  change(kind: "user" | "topic", member: string, nodeId: string, delta: 1 | -1): number {
    const table = kind === "user" ? this.users : this.topics;
    const perNode = table.get(member) ?? new Map<string, number>();
    table.set(member, perNode);
    const n = (perNode.get(nodeId) ?? 0) + delta;
    if (n > 0) perNode.set(nodeId, n);
    else perNode.delete(nodeId);
    if (perNode.size === 0) table.delete(member);
    return Math.max(0, n);
  }

  /** @internal Marks `nodeId` live; returns (and removes the interests of) nodes killed since they last beat. */
  heartbeat(nodeId: string): Heartbeat {
    const joined = !this.known.has(nodeId);
    this.live.add(nodeId);
    this.known.add(nodeId);
    const dead = [...this.known].filter((n) => !this.live.has(n));
    for (const n of dead) this.known.delete(n);
    const gone = new Set(dead);
    this.reap(this.users, gone);
    this.reap(this.topics, gone);
    return { joined, dead };
  }

  /** @internal Overwrites a node's interests with its own view. */
  restore(nodeId: string, snapshot: InterestSnapshot): void {
    for (const [user, count] of snapshot.users) this.set(this.users, user, nodeId, count);
    for (const topic of snapshot.topics) this.set(this.topics, topic, nodeId, 1);
  }

  /** Forgets everything, as a Redis restarted without persistence. */
  lose(): void {
    this.users.clear();
    this.topics.clear();
    this.live.clear();
    this.known.clear();
  }

  private set(table: Counts, member: string, nodeId: string, count: number): void {
    const perNode = table.get(member) ?? new Map<string, number>();
    table.set(member, perNode);
    if (count > 0) perNode.set(nodeId, count);
    else perNode.delete(nodeId);
    if (perNode.size === 0) table.delete(member);
  }

  /** Removes the interests the `dead` nodes held. */
  private reap(table: Counts, dead: ReadonlySet<string>): void {
    for (const [member, perNode] of table) {
      for (const node of dead) perNode.delete(node);
      if (perNode.size === 0) table.delete(member);
    }
  }

  /** @internal */
  lookup(user: string): UserPresence {
    const perNode = this.users.get(user) ?? new Map<string, number>();
    const nodes = [...perNode.keys()].filter((n) => this.live.has(n));
    const connections = nodes.reduce((sum, n) => sum + (perNode.get(n) ?? 0), 0);
    return { user, online: connections > 0, connections, nodes };
  }

  private deliver(batch: DeliveryBatch): DeliveryOutcome {
    const lane = laneOf(batch.priority);
    const perNode = new Map<string, string[]>();
    const broadcasts: string[] = [];
    const outcome = { unrouted: 0, kept: 0 };
    for (const d of batch.deliveries) {
      const kept = this.store.append(d, batch.priority);
      const line = encodeDelivery(d);
      if (d.kind === "broadcast") broadcasts.push(line);
      else if (!this.route(d.kind, d.target, line, perNode)) outcome[kept ? "kept" : "unrouted"]++;
    }
    for (const [node, lines] of perNode) this.subscribers.get(node)?.push(lane, lines.join("\n"));
    if (broadcasts.length) for (const s of this.subscribers.values()) s.push(lane, broadcasts.join("\n"));
    this.released[batch.priority] += batch.release;
    return outcome;
  }

  /** Adds a line to the payload of every live node holding the user or topic; false when none does. */
  private route(kind: "user" | "topic", target: string, line: string, perNode: Map<string, string[]>): boolean {
    let routed = false;
    for (const node of (kind === "user" ? this.users : this.topics).get(target)?.keys() ?? []) {
      if (!this.live.has(node)) continue;
      routed = true;
      const lines = perNode.get(node);
      if (lines) lines.push(line);
      else perNode.set(node, [line]);
    }
    return routed;
  }
}

class MemoryPresence implements Presence {
  constructor(
    private readonly routing: MemoryRouting,
    private readonly nodeId: string,
  ) {}

  addConnection(user: string): Promise<number> {
    return this.later(() => this.routing.change("user", user, this.nodeId, 1));
  }
  removeConnection(user: string): Promise<number> {
    return this.later(() => this.routing.change("user", user, this.nodeId, -1));
  }
  addSubscriber(topic: string): Promise<number> {
    return this.later(() => this.routing.change("topic", topic, this.nodeId, 1));
  }
  removeSubscriber(topic: string): Promise<number> {
    return this.later(() => this.routing.change("topic", topic, this.nodeId, -1));
  }
  heartbeat(): Promise<Heartbeat> {
    return this.later(() => this.routing.heartbeat(this.nodeId));
  }
  restore(snapshot: InterestSnapshot): Promise<void> {
    return this.later(() => this.routing.restore(this.nodeId, snapshot));
  }
  lookup(user: string): Promise<UserPresence> {
    return this.later(() => this.routing.lookup(user));
  }

  /** Applied now, in call order; resolved on a later turn, as a reply from Redis would be. */
  private later<T>(apply: () => T): Promise<T> {
    const value = apply();
    return new Promise((resolve) => setImmediate(() => resolve(value)));
  }
}

class MemoryBusSubscriber implements BusSubscriber {
  private handlers: BusHandlers | undefined;
  private readonly queued: Record<Lane, string[]> = { urgent: [], bulk: [] };
  private readonly paused: Record<Lane, boolean> = { urgent: false, bulk: false };
  private scheduled = false;

  start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers;
    return Promise.resolve();
  }

  pause(lane: Lane): void {
    this.paused[lane] = true;
  }

  resume(lane: Lane): void {
    this.paused[lane] = false;
    this.schedule();
  }

  held(lane: Lane): number {
    return this.queued[lane].length;
  }

  push(lane: Lane, payload: string): void {
    if (!this.handlers) return; // not subscribed yet: at most once
    this.queued[lane].push(payload);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const lane of LANES) {
        if (this.paused[lane]) continue;
        for (const payload of this.queued[lane].splice(0)) this.handlers?.onPayload(lane, payload);
      }
    });
  }
}
