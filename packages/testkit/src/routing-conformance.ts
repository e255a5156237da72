import { type Delivery, decodeDeliveries, type Lane, type Priority } from "@herald/protocol";
import type { Bus, BusSubscriber, Presence } from "@herald/routing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** One implementation of the routing roles, for `routingConformance`. */
export interface RoutingFixture {
  /** Presence speaking for `nodeId`. */
  presence(nodeId: string): Presence;
  /** The bus subscriber of `nodeId` (one per node). */
  subscriber(nodeId: string): BusSubscriber;
  bus(): Bus;
  /** Makes a node look dead, as one that stopped heartbeating past the liveness window. */
  kill(nodeId: string): Promise<void>;
  /** How much is published to a node's lane and not yet read by it (what a paused lane holds); > 0 is what counts. */
  held(nodeId: string, lane: Lane): Promise<number>;
  close(): Promise<void>;
}

/** What one node received: each delivery with the lane it came on. */
class Received {
  readonly deliveries: (Delivery & { lane: Lane })[] = [];

  frames(lane?: Lane): string[] {
    return this.deliveries.filter((d) => lane === undefined || d.lane === lane).map((d) => d.frame);
  }
}

let sequence = 0;
const unique = (name: string) => `${name}-${++sequence}`;

function delivery(kind: Delivery["kind"], target: string, frame: string, priority: Priority = "normal"): Delivery {
  return { kind, target, priority, ts: 1, frame };
}

/**
 * The guarantees `Bus`, `BusSubscriber` and `Presence` state, checked against one
 * implementation: the Redis one and the in-memory one both run it, so a unit test written
 * against the in-memory one tests what production does. Absence is proved with a barrier
 * (a sentinel published after, on the same lane: once it arrived, anything published
 * before it would have too).
 */
export function routingConformance(name: string, create: () => Promise<RoutingFixture>): void {
  describe(`routing conformance: ${name}`, () => {
    let fixture: RoutingFixture;
    let bus: Bus;

    async function node(id: string) {
      const presence = fixture.presence(id);
      const received = new Received();
      await fixture.subscriber(id).start({
        onPayload: (lane, payload) => {
          decodeDeliveries(payload, (d) => received.deliveries.push({ ...d, lane }));
        },
        onResubscribed: () => undefined,
      });
      await presence.heartbeat();
      return { id, presence, received };
    }

    /** Publishes a sentinel to `user` (held by the node) and waits until the node has it. */
    async function barrier(received: Received, user: string, priority: Priority = "normal") {
      const frame = unique("sentinel");
      await bus.deliver({ deliveries: [delivery("user", user, frame, priority)], priority, release: 0 });
      await expect.poll(() => received.frames().includes(frame)).toBe(true);
    }

    beforeAll(async () => {
      fixture = await create();
      bus = fixture.bus();
    });
    afterAll(() => fixture.close());

    it("routes a user's deliveries to exactly the nodes holding the user, and counts the unrouted", async () => {
      const a = await node(unique("a"));
      const b = await node(unique("b"));
      const [ann, ben, nobody] = [unique("ann"), unique("ben"), unique("nobody")];
      await a.presence.addConnection(ann);
      await b.presence.addConnection(ann);
      await b.presence.addConnection(ben);
      const { unrouted } = await bus.deliver({
        deliveries: [delivery("user", ann, "to-ann"), delivery("user", ben, "to-ben"), delivery("user", nobody, "x")],
        priority: "normal",
        release: 0,
      });
      expect(unrouted).toBe(1);
      await barrier(a.received, ann);
      await barrier(b.received, ben);
      expect(a.received.frames().filter((f) => f.startsWith("to-"))).toEqual(["to-ann"]);
      expect(b.received.frames().filter((f) => f.startsWith("to-"))).toEqual(["to-ann", "to-ben"]);
    });

    it("routes a topic to the nodes with subscribers, and no longer once the last one left", async () => {
      const a = await node(unique("a"));
      const [topic, anchor] = [unique("room"), unique("anchor")];
      await a.presence.addConnection(anchor);
      expect(await a.presence.addSubscriber(topic)).toBe(1);
      expect(await a.presence.addSubscriber(topic)).toBe(2);
      expect(
        (await bus.deliver({ deliveries: [delivery("topic", topic, "t1")], priority: "low", release: 0 })).unrouted,
      ).toBe(0);
      expect(await a.presence.removeSubscriber(topic)).toBe(1);
      expect(await a.presence.removeSubscriber(topic)).toBe(0);
      expect(
        (await bus.deliver({ deliveries: [delivery("topic", topic, "t2")], priority: "low", release: 0 })).unrouted,
      ).toBe(1);
      await barrier(a.received, anchor, "low");
      expect(a.received.frames().filter((f) => /^t\d$/.test(f))).toEqual(["t1"]);
    });

    it("sends broadcasts to every node, and each priority in its lane", async () => {
      const a = await node(unique("a"));
      const b = await node(unique("b"));
      await bus.deliver({
        deliveries: [delivery("broadcast", "", "all-urgent", "critical")],
        priority: "critical",
        release: 0,
      });
      await bus.deliver({ deliveries: [delivery("broadcast", "", "all-bulk", "low")], priority: "low", release: 0 });
      for (const n of [a, b]) {
        await expect.poll(() => n.received.frames("urgent").includes("all-urgent")).toBe(true);
        await expect.poll(() => n.received.frames("bulk").includes("all-bulk")).toBe(true);
      }
    });

    it("keeps order within a batch and across batches, per lane", async () => {
      const a = await node(unique("a"));
      const ann = unique("ann");
      await a.presence.addConnection(ann);
      const sent: string[] = [];
      const calls: Promise<unknown>[] = [];
      for (let batch = 0; batch < 20; batch++) {
        const deliveries = Array.from({ length: 5 }, (_, i) => delivery("user", ann, `o${batch * 5 + i}`));
        sent.push(...deliveries.map((d) => d.frame));
        calls.push(bus.deliver({ deliveries, priority: "normal", release: 0 }));
      }
      await Promise.all(calls);
      await expect.poll(() => a.received.frames().filter((f) => f.startsWith("o")).length).toBe(sent.length);
      expect(a.received.frames().filter((f) => f.startsWith("o"))).toEqual(sent);
    });

    it("counts connections per node, applies changes in call order, and looks a user up", async () => {
      const a = await node(unique("a"));
      const b = await node(unique("b"));
      const cat = unique("cat");
      const counts = await Promise.all([
        a.presence.addConnection(cat),
        a.presence.addConnection(cat),
        a.presence.removeConnection(cat),
        b.presence.addConnection(cat),
      ]);
      expect(counts).toEqual([1, 2, 1, 1]);
      const seen = await a.presence.lookup(cat);
      expect(seen).toMatchObject({ user: cat, online: true, connections: 2 });
      expect([...seen.nodes].sort()).toEqual([a.id, b.id].sort());
      await a.presence.removeConnection(cat);
      await b.presence.removeConnection(cat);
      expect(await a.presence.lookup(cat)).toEqual({ user: cat, online: false, connections: 0, nodes: [] });
    });

    it("finds a node that stopped heartbeating dead, and routes nothing more to it", async () => {
      const a = await node(unique("a"));
      const b = await node(unique("b"));
      const [eve, topic] = [unique("eve"), unique("room")];
      await a.presence.addConnection(eve);
      await a.presence.addSubscriber(topic);
      await fixture.kill(a.id);
      expect((await b.presence.heartbeat()).dead).toContain(a.id);
      const { unrouted } = await bus.deliver({
        deliveries: [delivery("user", eve, "x"), delivery("topic", topic, "y")],
        priority: "normal",
        release: 0,
      });
      expect(unrouted).toBe(2);
      expect((await b.presence.lookup(eve)).online).toBe(false);
      expect((await b.presence.heartbeat()).dead).not.toContain(a.id); // reaped once
      expect((await a.presence.heartbeat()).joined).toBe(true); // a, back, finds itself gone: time to restore
    });

    it("restores a node's interests exactly, whatever Redis held, and applies later changes on top", async () => {
      const a = await node(unique("a"));
      const [fay, gus, topic] = [unique("fay"), unique("gus"), unique("room")];
      await a.presence.addConnection(fay); // Redis says 1 ...
      expect((await a.presence.heartbeat()).joined).toBe(false);
      await a.presence.restore({
        users: new Map([
          [fay, 3],
          [gus, 1],
        ]),
        topics: [topic],
      }); // ... the node says 3
      expect((await a.presence.lookup(fay)).connections).toBe(3);
      await a.presence.restore({
        users: new Map([
          [fay, 3],
          [gus, 1],
        ]),
        topics: [topic],
      }); // idempotent
      expect((await a.presence.lookup(fay)).connections).toBe(3);
      expect(await a.presence.removeConnection(fay)).toBe(2);
      expect(
        (await bus.deliver({ deliveries: [delivery("topic", topic, "t")], priority: "low", release: 0 })).unrouted,
      ).toBe(0);
      expect((await a.presence.lookup(gus)).online).toBe(true);
    });

    it("holds a paused lane's payloads until it resumes, in order, while the other lane flows", async () => {
      const id = unique("a");
      const presence = fixture.presence(id);
      const subscriber = fixture.subscriber(id);
      const received = new Received();
      await subscriber.start({
        onPayload: (lane, payload) => decodeDeliveries(payload, (d) => received.deliveries.push({ ...d, lane })),
        onResubscribed: () => undefined,
      });
      await presence.heartbeat();
      const dan = unique("dan");
      await presence.addConnection(dan);
      subscriber.pause("bulk");
      // Enough to pass the sockets' own buffers, so that a transport's buffer shows what it holds.
      const pad = "x".repeat(1 << 20);
      const sent = Array.from({ length: 24 }, (_, i) => `held${i}`);
      for (const name of sent) {
        await bus.deliver({
          deliveries: [delivery("user", dan, `${name}:${pad}`, "low")],
          priority: "low",
          release: 0,
        });
      }
      await expect.poll(() => fixture.held(id, "bulk")).toBeGreaterThan(0); // published, and held
      await barrier(received, dan, "critical"); // the other lane flows meanwhile
      expect(received.frames("bulk")).toEqual([]);
      subscriber.resume("bulk");
      const names = () => received.frames("bulk").map((f) => f.slice(0, f.indexOf(":")));
      await expect.poll(names, { timeout: 10_000 }).toEqual(sent);
    });
  });
}
