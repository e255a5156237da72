import { waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, msg } from "./support/gateway.js";

let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({
    env: { HERALD_MAX_FRAME_BYTES: "1024", HERALD_MAX_FRAMES_PER_SECOND: "20", HERALD_MAX_BODY_BYTES: "4096" },
  });
});
afterAll(() => g?.stop());

describe("bad client frames", () => {
  it("answers bad_frame to garbage, unknown types, missing fields and binary, and keeps serving", async () => {
    const c = await g.connect("frames");
    const bystander = await g.connect("bystander");
    c.send("{not json");
    c.send({ type: "dance" });
    c.send({ type: "subscribe" });
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await waitFor(() => c.frames.filter((f) => f.type === "error").length === 4, "four errors");
    expect(c.frames.filter((f) => f.type === "error").map((f) => f.code)).toEqual(Array(4).fill("bad_frame"));
    c.send({ type: "ping" });
    await c.next((f) => f.type === "pong", "pong after errors");
    await g.post(msg({ users: ["frames", "bystander"] }, "still-here"));
    await c.next((f) => f.event === "still-here", "delivery to the bad client");
    await bystander.next((f) => f.event === "still-here", "delivery to the bystander");
    c.close();
    bystander.close();
  });

  it("closes with 1009 (a close frame) on a frame over HERALD_MAX_FRAME_BYTES", async () => {
    const c = await g.connect("big");
    c.send(JSON.stringify({ type: "subscribe", channel: "x".repeat(2000) }));
    expect(await c.closed()).toBe(1009);
  });

  it("warns rate_limited, then closes with 1008 a client that keeps flooding", async () => {
    const c = await g.connect("flood");
    for (let i = 0; i < 200; i++) c.send({ type: "ping" });
    expect(await c.closed()).toBe(1008);
    expect(c.frames.some((f) => f.type === "error" && f.code === "rate_limited")).toBe(true);
  });
});

describe("requests that once killed an edge", () => {
  it("answers 400 to malformed percent-escapes in a path, and the node keeps its connections", async () => {
    const c = await g.connect("steady");
    for (const user of ["%", "50%off", "%E0%A4%A", "%00"]) {
      const r = await fetch(`http://127.0.0.1:${g.port}/v1/presence/${user}`, {
        headers: { authorization: `Bearer ${g.apiKey}` },
      });
      expect(r.status, user).toBe(400);
      expect(((await r.json()) as { error: string }).error).toBe("bad_request");
    }
    expect(
      (
        await fetch(`http://127.0.0.1:${g.port}/v1/presence/steady`, {
          headers: { authorization: `Bearer ${g.apiKey}` },
        })
      ).status,
    ).toBe(200);
    await g.post(msg({ user: "steady" }, "still-here"));
    await c.next((f) => f.event === "still-here", "delivery after the bad requests");
    expect(await g.metric(g.edges[0]!, "herald_handler_errors_total", { kind: "bad_request" })).toBe(4);
    c.close();
  });

  it("answers 400, not a 503 to retry, to data nested deeper than any encoder can take", async () => {
    let data: unknown = 1;
    for (let i = 0; i < 1500; i++) data = [data]; // within this gateway's 4 KiB body limit
    const r = await g.post(msg({ user: "deep" }, "deep", { data }));
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: "invalid_messages", details: [{ field: "data" }] });
  });
});

describe("bad producer requests", () => {
  it("answers 400 invalid_json to a body that is not JSON", async () => {
    const r = await g.post("{oops");
    expect(r.status).toBe(400);
    expect(r.json.error).toBe("invalid_json");
  });

  it("answers 400 with index and field of each problem, and enqueues nothing of the request", async () => {
    const c = await g.connect("atomic");
    const r = await g.post({
      messages: [msg({ user: "atomic" }, "good"), msg({ user: "atomic" }, "bad event"), msg({ nobody: 1 }, "x")],
    });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      error: "invalid_messages",
      details: [
        { index: 1, field: "event", message: expect.any(String) },
        { index: 2, field: "to", message: expect.stringContaining("must be one of") },
      ],
    });
    await g.post(msg({ user: "atomic" }, "after"));
    const first = await c.next((f) => f.type === "message", "first message");
    expect(first.event).toBe("after");
    c.close();
  });

  it("answers 401 to a missing or unknown key, and 413 to a body over the limit", async () => {
    expect((await g.post(msg({ user: "a" }), { key: "wrong-key-wrong-key" })).status).toBe(401);
    const res = await fetch(`http://127.0.0.1:${g.port}/v1/messages`, { method: "POST", body: "{}" });
    expect(res.status).toBe(401);
    const big = await g.post(msg({ user: "a" }, "big", { data: "x".repeat(5000) }));
    expect(big.status).toBe(413);
  });

  it("delivers a repeated idempotency key once and answers it with the first id", async () => {
    const c = await g.connect("idem");
    const first = await g.post(msg({ user: "idem" }, "once", { id: "order-17-shipped" }));
    const again = await g.post({
      messages: [msg({ user: "idem" }, "once", { id: "order-17-shipped" }), msg({ user: "idem" }, "after")],
    });
    expect(again.status).toBe(202);
    expect(again.json.ids[0]).toBe(first.json.ids[0]);
    await c.next((f) => f.event === "after", "the message after the duplicate");
    expect(c.messages().filter((f) => f.event === "once")).toHaveLength(1);
    c.close();
  });
});

describe("bounded queues and an unreachable Redis", () => {
  it("answers 429 with Retry-After when a priority queue is full, and accepts again once it drains", async () => {
    const small = await Gateway.start({ workers: 0, env: { HERALD_QUEUE_CAPACITY: "5" } });
    try {
      const four = Array.from({ length: 4 }, () => msg({ user: "q" }, "fill", { priority: "low" }));
      expect((await small.post({ messages: four })).status).toBe(202);
      const over = await small.post({
        messages: [msg({ user: "q" }, "x", { priority: "low" }), msg({ user: "q" }, "y", { priority: "low" })],
      });
      expect(over.status).toBe(429);
      expect(over.headers.get("retry-after")).toBe("1");
      expect(over.json).toMatchObject({ error: "queue_full", priority: "low" });
      // Other priorities have their own capacity; all or nothing across them.
      expect((await small.post(msg({ user: "q" }, "urgent", { priority: "critical" }))).status).toBe(202);
      const mixed = await small.post({
        messages: [msg({ user: "q" }, "a", { priority: "high" }), ...four.map((m) => ({ ...m }))],
      });
      expect(mixed.status).toBe(429);
      // Nothing of the refused mixed request stayed counted: high still has its full capacity.
      const five = Array.from({ length: 5 }, () => msg({ user: "q" }, "h", { priority: "high" }));
      expect((await small.post({ messages: five })).status).toBe(202);
      await small.startWorker();
      await waitFor(
        async () => (await small.post(msg({ user: "q" }, "z", { priority: "low" }))).status === 202,
        "low accepts again",
      );
    } finally {
      await small.stop();
    }
  });

  it("answers 503 within a few seconds when Redis is down, and the edge stays up", async () => {
    const lonely = await Gateway.start({ workers: 0 });
    try {
      await lonely.redis.stop(true);
      const started = Date.now();
      const r = await lonely.post(msg({ user: "a" }));
      expect(r.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await fetch(`http://127.0.0.1:${lonely.port}/healthz`)).status).toBe(200);
      await waitFor(async () => (await fetch(`http://127.0.0.1:${lonely.port}/readyz`)).status === 503, "readyz 503");
    } finally {
      await lonely.stop();
    }
  });
});
