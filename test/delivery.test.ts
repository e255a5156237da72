import { waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Gateway, msg } from "./support/gateway.js";

let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({ edges: 1, workers: 1 });
});
afterAll(() => g?.stop());

describe("delivery through one edge and one worker", () => {
  it("reaches every connection of a user, and no one else", async () => {
    const [tab1, tab2, other] = await Promise.all([g.connect("alice"), g.connect("alice"), g.connect("bob")]);
    const res = await g.post(msg({ user: "alice" }, "notification", { data: { hello: 1 }, priority: "high" }));
    expect(res.status).toBe(202);
    expect(res.json.accepted).toBe(1);
    const id = res.json.ids[0];
    for (const c of [tab1, tab2]) {
      const f = await c.next((f) => f.type === "message", "alice's message");
      expect(f).toEqual({
        type: "message",
        id,
        channel: "user:alice",
        event: "notification",
        priority: "high",
        data: { hello: 1 },
        ts: expect.any(Number),
      });
    }
    // bob gets a message sent after alice's: if alice's had leaked to him it would be first.
    await g.post(msg({ user: "bob" }, "mine"));
    const first = await other.next((f) => f.type === "message", "bob's message");
    expect(first.event).toBe("mine");
    for (const c of [tab1, tab2, other]) c.close();
  });

  it("keeps the order of a request's messages, with ordered ids, to one user and to several users", async () => {
    const [a, b] = await Promise.all([g.connect("order-a"), g.connect("order-b")]);
    const messages = Array.from({ length: 60 }, (_, i) =>
      msg(i % 2 ? { users: ["order-a", "order-b"] } : { user: "order-a" }, "seq", { data: { i } }),
    );
    const res = await g.post({ messages });
    expect(res.status).toBe(202);
    expect([...res.json.ids].sort()).toEqual(res.json.ids);
    await waitFor(() => a.messages().length === 60, "60 messages to order-a");
    expect(a.messages().map((f) => (f.data as { i: number }).i)).toEqual(messages.map((_, i) => i));
    await waitFor(() => b.messages().length === 30, "30 messages to order-b");
    expect(b.messages().map((f) => f.channel)).toEqual(Array(30).fill("user:order-b"));
    a.close();
    b.close();
  });

  it("answers concurrent requests, enqueued together, each with its own messages' ids", async () => {
    const c = await g.connect("together");
    // Sent at once: those that arrive while an enqueue is in flight are enqueued as one.
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, r) =>
        g.post({ messages: Array.from({ length: 1 + (r % 3) }, (_, i) => msg({ user: "together" }, `r${r}-${i}`)) }),
      ),
    );
    const sent = new Map<string, string>();
    answers.forEach((res, r) => {
      expect(res.status).toBe(202);
      expect(res.json.ids).toHaveLength(1 + (r % 3));
      for (const [i, id] of (res.json.ids as string[]).entries()) sent.set(id, `r${r}-${i}`);
    });
    await waitFor(() => c.messages().length === sent.size, `${sent.size} messages`);
    for (const f of c.messages()) expect(f.event).toBe(sent.get(f.id as string));
    c.close();
  });

  it("subscribes to topics the channels claim allows, refuses others, and stops on unsubscribe", async () => {
    const member = await g.connect("carol", { channels: ["workflow:*", "team:7"] });
    const outsider = await g.connect("dave", { channels: ["team:8"] });
    member.send({ type: "subscribe", channel: "workflow:42" });
    await member.next((f) => f.type === "subscribed" && f.channel === "workflow:42", "subscribed");
    outsider.send({ type: "subscribe", channel: "workflow:42" });
    const refused = await outsider.next((f) => f.type === "error", "forbidden");
    expect(refused).toMatchObject({ code: "forbidden", channel: "workflow:42" });

    await g.post(msg({ channel: "workflow:42" }, "step", { data: { n: 1 } }));
    const got = await member.next((f) => f.type === "message", "topic message");
    expect(got).toMatchObject({ channel: "workflow:42", event: "step", data: { n: 1 } });

    member.send({ type: "unsubscribe", channel: "workflow:42" });
    await member.next((f) => f.type === "unsubscribed", "unsubscribed");
    await g.post(msg({ channel: "workflow:42" }, "step", { data: { n: 2 } }));
    await g.post(msg({ user: "carol" }, "marker"));
    await member.next((f) => f.event === "marker", "marker after the topic message");
    expect(member.messages().filter((f) => f.channel === "workflow:42")).toHaveLength(1);
    expect(outsider.messages()).toHaveLength(0);
    member.close();
    outsider.close();
  });

  it("answers a subscribe sent before welcome, once the connection is live", async () => {
    const token = await g.token("eager", { channels: ["eager:*"] });
    const ws = new WebSocket(`ws://127.0.0.1:${g.port}/v1/ws?token=${token}`);
    const frames: { type: string; channel?: string }[] = [];
    ws.on("message", (d) => frames.push(JSON.parse(String(d))));
    ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", channel: "eager:1" })));
    await waitFor(() => frames.some((f) => f.type === "subscribed"), "subscribed");
    expect(frames.map((f) => f.type)).toEqual(["welcome", "subscribed"]);
    await g.post(msg({ channel: "eager:1" }, "first"));
    await waitFor(() => frames.some((f) => f.type === "message"), "topic message");
    ws.close();
  });

  it("broadcasts to every connection without a subscription", async () => {
    const clients = await Promise.all(["e1", "e2", "e3"].map((u) => g.connect(u)));
    const res = await g.post(msg({ broadcast: true }, "announce", { priority: "critical" }));
    expect(res.status).toBe(202);
    for (const c of clients) {
      const f = await c.next((f) => f.type === "message", "broadcast");
      expect(f).toMatchObject({ channel: "broadcast", event: "announce", priority: "critical" });
      c.close();
    }
  });

  it("refuses a missing, wrong or expired token with 401 before the upgrade", async () => {
    const { TestClient } = await import("@herald/testkit");
    await expect(TestClient.connect(g.port, "")).rejects.toThrow("HTTP 401");
    await expect(TestClient.connect(g.port, "not.a.jwt")).rejects.toThrow("HTTP 401");
    const { signToken } = await import("@herald/testkit");
    await expect(TestClient.connect(g.port, await signToken("wrong-secret-wrong-secret", "x"))).rejects.toThrow(
      "HTTP 401",
    );
    await expect(TestClient.connect(g.port, await g.token("x", {}, "-10s"))).rejects.toThrow("HTTP 401");
    const viaHeader = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${g.port}/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
        ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        ws.once("open", () => {
          ws.close();
          resolve(101);
        });
        ws.once("error", reject);
      });
    expect(await viaHeader("nope")).toBe(401);
    expect(await viaHeader(await g.token("header-user"))).toBe(101);
  });

  it("answers presence with the user's connections and nodes", async () => {
    const c = await g.connect("paula");
    const res = await fetch(`http://127.0.0.1:${g.port}/v1/presence/paula`, {
      headers: { authorization: `Bearer ${g.apiKey}` },
    });
    expect(await res.json()).toEqual({ user: "paula", online: true, connections: 1, nodes: ["edge-0"] });
    c.close();
    await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${g.port}/v1/presence/paula`, {
        headers: { authorization: `Bearer ${g.apiKey}` },
      });
      return ((await r.json()) as { online: boolean }).online === false;
    }, "paula offline");
  });

  it("delivers what the producer SDK enqueues, batched, in call order", async () => {
    const c = await g.connect("sdk-user");
    const producer = g.producer({ maxDelayMs: 5 });
    try {
      const ids = await Promise.all(
        Array.from({ length: 250 }, (_, i) => producer.send(msg({ user: "sdk-user" }, "sdk", { data: { i } }))),
      );
      expect([...ids].sort()).toEqual(ids);
      await waitFor(() => c.messages().length === 250, "250 SDK messages");
      expect(c.messages().map((f) => (f.data as { i: number }).i)).toEqual(ids.map((_, i) => i));
      await expect(producer.send(msg({ user: "" }, "bad"))).rejects.toMatchObject({ code: "invalid_messages" });
    } finally {
      await producer.close();
      c.close();
    }
  });

  it("resolves sends awaited one after another (each found the previous drain finishing)", async () => {
    const c = await g.connect("in-turn");
    const producer = g.producer();
    try {
      for (let round = 0; round < 5; round++) {
        await producer.sendMany(
          Array.from({ length: 200 }, (_, i) => msg({ user: "in-turn" }, "turn", { data: { round, i } })),
        );
      }
      await waitFor(() => c.messages().length === 1000, "1,000 messages");
    } finally {
      await producer.close();
      c.close();
    }
  });

  it("makes sends past maxBuffered wait their turn, in call order, and rejects the waiting ones on close", async () => {
    const c = await g.connect("buffered");
    const producer = g.producer({ maxBuffered: 5 });
    try {
      const sends = Array.from({ length: 40 }, (_, i) =>
        producer.send(msg({ user: "buffered" }, "b", { data: { i } })),
      );
      const ids = await Promise.all(sends);
      expect([...ids].sort()).toEqual(ids);
      await waitFor(() => c.messages().length === 40, "40 messages");
      expect(c.messages().map((f) => (f.data as { i: number }).i)).toEqual(ids.map((_, i) => i));

      const late = Array.from({ length: 12 }, (_, i) =>
        producer.send(msg({ user: "buffered" }, "late", { data: { i } })),
      );
      const settled = Promise.allSettled(late);
      await producer.close(); // the first 5 were buffered and are flushed; 7 were waiting for room
      const outcomes = await settled;
      expect(outcomes.slice(0, 5).every((o) => o.status === "fulfilled")).toBe(true);
      for (const o of outcomes.slice(5)) expect(o).toMatchObject({ status: "rejected", reason: { code: "closed" } });
      await expect(producer.send(msg({ user: "buffered" }, "after"))).rejects.toMatchObject({ code: "closed" });
    } finally {
      await producer.close();
      c.close();
    }
  });

  it("keeps a user's order across many one-message jobs, which the worker runs concurrently", async () => {
    // One job per message: the worker has up to 10 in flight, and BullMQ alone would start some out of order.
    const c = await g.connect("one-by-one");
    const producer = g.producer({ maxBatch: 1 });
    try {
      await Promise.all(
        Array.from({ length: 300 }, (_, i) => producer.send(msg({ user: "one-by-one" }, "seq", { data: { i } }))),
      );
      await waitFor(() => c.messages().length === 300, "300 messages");
      expect(c.messages().map((f) => (f.data as { i: number }).i)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    } finally {
      await producer.close();
      c.close();
    }
  });

  it("serves health, readiness and the contract's metrics", async () => {
    const edge = g.edges[0]!;
    const worker = g.workers[0]!;
    for (const p of [edge, worker]) {
      expect((await fetch(`http://127.0.0.1:${p.port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${p.port}/readyz`)).status).toBe(200);
    }
    const text = await (await fetch(`http://127.0.0.1:${edge.port}/metrics`)).text();
    for (const name of [
      "herald_connections",
      "herald_messages_delivered_total",
      "herald_delivery_latency_seconds_bucket",
      "herald_queue_waiting",
      "process_cpu_user_seconds_total",
    ]) {
      expect(text).toContain(name);
    }
    expect(await g.metric(worker, "herald_worker_messages_total", { outcome: "delivered" })).toBeGreaterThan(0);
  });
});
