import { waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, msg, ON_CLUSTER } from "./support/gateway.js";

let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({ edges: 2, workers: 2 });
});
afterAll(() => g?.stop());

describe("two edges and two workers", () => {
  it("reaches a user's connections on both edges, from a producer on either edge", async () => {
    const onA = await g.connect("roamer", {}, 0);
    const onB = await g.connect("roamer", {}, 1);
    await g.post(msg({ user: "roamer" }, "via-a"), { edge: 0 });
    await g.post(msg({ user: "roamer" }, "via-b"), { edge: 1 });
    for (const c of [onA, onB]) {
      await c.next((f) => f.event === "via-a", "via-a");
      await c.next((f) => f.event === "via-b", "via-b");
    }
    const presence = await fetch(`http://127.0.0.1:${g.port}/v1/presence/roamer`, {
      headers: { authorization: `Bearer ${g.apiKey}` },
    });
    expect(((await presence.json()) as { nodes: string[] }).nodes.sort()).toEqual(["edge-0", "edge-1"]);
    onA.close();
    onB.close();
  });

  it("sends an edge only the users and topics it holds, plus broadcasts", async () => {
    const [edgeA, edgeB] = g.edges as [(typeof g.edges)[0], (typeof g.edges)[0]];
    const before = {
      userA: await g.metric(edgeA, "herald_bus_deliveries_received_total", { kind: "user" }),
      userB: await g.metric(edgeB, "herald_bus_deliveries_received_total", { kind: "user" }),
      topicA: await g.metric(edgeA, "herald_bus_deliveries_received_total", { kind: "topic" }),
      topicB: await g.metric(edgeB, "herald_bus_deliveries_received_total", { kind: "topic" }),
    };
    const onlyA = await g.connect("homebody", {}, 0);
    const subOnB = await g.connect("listener", { channels: ["room:*"] }, 1);
    subOnB.send({ type: "subscribe", channel: "room:1" });
    await subOnB.next((f) => f.type === "subscribed", "subscribed");

    const users = Array.from({ length: 20 }, (_, i) => msg({ user: "homebody" }, "u", { data: { i } }));
    const topics = Array.from({ length: 10 }, () => msg({ channel: "room:1" }, "t"));
    await g.post({ messages: [...users, ...topics, msg({ broadcast: true }, "all")] });
    await waitFor(() => onlyA.messages().length === 21, "20 user messages and a broadcast on A");
    await waitFor(() => subOnB.messages().length === 11, "10 topic messages and a broadcast on B");

    expect((await g.metric(edgeA, "herald_bus_deliveries_received_total", { kind: "user" })) - before.userA).toBe(20);
    expect((await g.metric(edgeB, "herald_bus_deliveries_received_total", { kind: "user" })) - before.userB).toBe(0);
    expect((await g.metric(edgeA, "herald_bus_deliveries_received_total", { kind: "topic" })) - before.topicA).toBe(0);
    expect((await g.metric(edgeB, "herald_bus_deliveries_received_total", { kind: "topic" })) - before.topicB).toBe(10);
    const received = onlyA.messages().map((f) => (f.data as { i?: number } | null)?.i);
    if (ON_CLUSTER) {
      // A cluster keeps each channel's order, not an order across channels (docs/scaling.md):
      // the user's messages in order, and the broadcast, which came over another master, anywhere.
      expect(received.filter((i) => i !== undefined)).toEqual(users.map((_, i) => i));
      expect(received.filter((i) => i === undefined)).toHaveLength(1);
    } else expect(received).toEqual([...users.map((_, i) => i), undefined]); // one Redis publishes in request order

    onlyA.close();
    subOnB.close();
  });

  it("spreads the work over both workers", async () => {
    const c = await g.connect("busy-bee");
    const batches = Array.from({ length: 20 }, (_, b) =>
      g.post({ messages: Array.from({ length: 50 }, (_, i) => msg({ user: "busy-bee" }, "w", { data: { b, i } })) }),
    );
    await Promise.all(batches);
    await waitFor(() => c.messages().length === 1000, "1000 messages");
    const perWorker = await Promise.all(
      g.workers.map((w) => g.metric(w, "herald_worker_messages_total", { outcome: "delivered" })),
    );
    expect(perWorker.every((n) => n > 0)).toBe(true);
    c.close();
  });
});
