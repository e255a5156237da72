import { connect } from "node:net";
import { QUEUE_NAMES } from "@herald/jobs";
import { PRIORITIES } from "@herald/protocol";
import { type HeraldProcess, type TestClient, waitFor } from "@herald/testkit";
import { Queue } from "bullmq";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Gateway, msg, ON_CLUSTER } from "./support/gateway.js";

/**
 * Fuzzing against live nodes: random WebSocket frames, HTTP requests and foreign jobs. The
 * properties: no process exits, no request makes a handler fail (500), memory stays
 * bounded, and a well-behaved client keeps receiving. The seed is printed; replay a failure
 * with FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts.
 */
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed} npx vitest run test/fuzz.test.ts)`);
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

let g: Gateway;
let bystander: TestClient;
let sent = 0;
const exited: string[] = [];
const watch = (p: HeraldProcess) => void p.exited.then((code) => exited.push(`${p.role} ${p.pid} exited ${code}`));

beforeAll(async () => {
  g = await Gateway.start({ env: { HERALD_MAX_FRAMES_PER_SECOND: "1000" } });
  for (const p of [...g.edges, ...g.workers]) watch(p);
  bystander = await g.connect("bystander", { channels: ["room:*"] });
  bystander.send({ type: "subscribe", channel: "room:calm" });
  await bystander.next((f) => f.type === "subscribed", "subscribed");
});
afterAll(async () => {
  bystander?.close();
  await g?.stop();
});

/** The well-behaved client still receives what is sent to it, and every process is up. */
async function stillServing(): Promise<void> {
  expect(exited).toEqual([]);
  const event = `calm-${++sent}`;
  const r = await g.post(msg({ channel: "room:calm" }, event));
  expect(r.status).toBe(202);
  await bystander.next((f) => f.event === event, `${event} to the bystander`);
}

const rss = async (p: HeraldProcess) => g.metric(p, "process_resident_memory_bytes");

const frame = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 20_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
  fc
    .record({
      type: fc.constantFrom("subscribe", "unsubscribe", "ack", "ping", "welcome", "message", ""),
      channel: fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.constantFrom("user:bystander", "broadcast", "room:*", "room:calm"),
      ),
      since: fc.option(fc.string({ maxLength: 80 }), { nil: undefined }),
      id: fc.option(fc.anything({ maxDepth: 2 }), { nil: undefined }),
    })
    .map((f) => JSON.stringify(f)),
  fc.uint8Array({ maxLength: 200 }),
);

/** Opens a raw socket, sends frames, and closes; resolves once the socket is closed either way. */
async function sendFrames(user: string, frames: (string | Uint8Array)[]): Promise<void> {
  const token = await g.token(user, { channels: ["room:*", "*"] });
  const ws = new WebSocket(`ws://127.0.0.1:${g.port}/v1/ws?token=${token}`);
  ws.on("error", () => undefined); // a close by the edge (1008, 1009) is a fine outcome here
  await new Promise<void>((resolve) => {
    ws.once("open", () => {
      for (const f of frames) ws.send(f, { binary: typeof f !== "string" });
      ws.close();
    });
    ws.once("close", () => resolve());
  });
}

/** One raw HTTP/1.1 request; resolves with the status, or 0 when the edge closed without one. */
function rawRequest(port: number, text: string | Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let got = "";
    const done = (status: number) => {
      socket.destroy();
      resolve(status);
    };
    socket.setTimeout(3000, () => done(0));
    socket.on("data", (b) => {
      got += b.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) done(Number(m[1]));
    });
    socket.on("error", () => done(0));
    socket.on("close", () => done(0));
    socket.end(text);
  });
}

const pathPart = fc.oneof(
  fc.constantFrom("%", "%2", "%zz", "%E0%A4%A", "%00", "..", "/", "?", "#", "%ff%fe", "v1", "messages", "presence"),
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)),
);
const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW"),
  path: fc.oneof(
    fc.constantFrom("/v1/messages", "/v1/presence/", "/v1/ws", "/metrics", "/readyz", "/"),
    fc.array(pathPart, { maxLength: 6 }).map((parts) => `/v1/presence/${parts.join("")}`),
    fc.array(pathPart, { maxLength: 6 }).map((parts) => `/${parts.join("/")}`),
  ),
  auth: fc.boolean(),
  contentType: fc.constantFrom("application/json", "text/plain", "", "multipart/form-data; boundary=x"),
  body: fc.oneof(
    fc.json({ maxDepth: 3 }),
    fc.string({ maxLength: 500 }),
    fc
      .record({ to: fc.anything({ maxDepth: 2 }), event: fc.anything({ maxDepth: 1 }), data: fc.anything() })
      .map((m) => JSON.stringify(m, (_k, v) => (typeof v === "bigint" ? String(v) : v))),
  ),
  /** Declared length minus sent length: >0 truncates the body (the client then hangs up). */
  missing: fc.constantFrom(0, 0, 0, 10, 1_000_000),
});

describe("fuzzing live nodes", () => {
  it("survives random client frames, floods and deep nesting, and keeps serving a well-behaved client", async () => {
    const before = await rss(g.edges[0] as HeraldProcess);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 30 }), async (frames) => {
        await sendFrames(`fuzz${run++}`, frames);
        expect(exited).toEqual([]);
      }),
      { seed, numRuns: RUNS },
    );
    await stillServing();
    // Bounded: what the frames left behind is not kept (a generous bound: GC runs when it runs).
    expect(await rss(g.edges[0] as HeraldProcess)).toBeLessThan(before + 200 * 2 ** 20);
  }, 120_000);

  it("answers random HTTP requests without a handler failing, and keeps serving", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const body = Buffer.from(r.body);
        const head = [
          `${r.method} ${r.path} HTTP/1.1`,
          "Host: fuzz",
          "Connection: close",
          ...(r.auth ? [`Authorization: Bearer ${g.apiKey}`] : []),
          ...(r.contentType ? [`Content-Type: ${r.contentType}`] : []),
          ...(r.method === "GET" || r.method === "HEAD" ? [] : [`Content-Length: ${body.length + r.missing}`]),
        ].join("\r\n");
        const status = await rawRequest(g.port, Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body]));
        expect(status, `${r.method} ${r.path}`).not.toBe(500);
        expect(exited).toEqual([]);
      }),
      { seed, numRuns: RUNS * 3 },
    );
    await stillServing();
    expect(await g.metric(g.edges[0] as HeraldProcess, "herald_handler_errors_total", { kind: "internal" })).toBe(0);
  }, 120_000);

  // Foreign jobs are written under the standalone layout's queue names.
  it.skipIf(ON_CLUSTER)(
    "takes random foreign jobs on every queue without stalling one",
    async () => {
      const connection = new Redis(g.redis.url, { maxRetriesPerRequest: null });
      const queues = PRIORITIES.map((p) => new Queue(QUEUE_NAMES[p], { connection, prefix: `{${g.prefix}}` }));
      try {
        const job = fc.oneof(
          fc.anything({ maxDepth: 3 }),
          fc.record({ messages: fc.array(fc.anything({ maxDepth: 3 }), { maxLength: 5 }) }),
          fc.record({
            v: fc.constant(1),
            messages: fc.array(fc.anything({ maxDepth: 3 }), { maxLength: 5 }),
            counted: fc.anything({ maxDepth: 1 }),
            handled: fc.option(fc.anything({ maxDepth: 2 }), { nil: undefined }),
          }),
        );
        await fc.assert(
          fc.asyncProperty(job, fc.integer({ min: 0, max: 3 }), async (data, q) => {
            const safe = JSON.parse(JSON.stringify({ d: data ?? null }, (_k, v) => (typeof v === "bigint" ? 1 : v))).d;
            await (queues[q] as Queue).add("fuzz", safe, { attempts: 1, removeOnComplete: true, removeOnFail: true });
          }),
          { seed, numRuns: RUNS * 2 },
        );
        // Behind everything above, a well-formed job on each queue still arrives.
        for (const q of queues)
          await q.add("ok", { messages: [{ to: { user: "bystander" }, event: `after-${q.name}` }] });
        await waitFor(
          () => PRIORITIES.every((p) => bystander.frames.some((f) => f.event === `after-${QUEUE_NAMES[p]}`)),
          "a well-formed job on every queue, behind the fuzzed ones",
          30_000,
        );
        expect(exited).toEqual([]);
        await stillServing();
      } finally {
        await Promise.all(queues.map((q) => q.close()));
        connection.disconnect();
      }
    },
    120_000,
  );
});
