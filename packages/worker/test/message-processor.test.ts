import { once } from "node:events";
import { DeadLetters, Enqueuer, isHeraldJob, PendingCount, QUEUE_NAMES } from "@herald/jobs";
import { createLogger, Registry } from "@herald/observability";
import { decodeDeliveries } from "@herald/protocol";
import {
  closeRedis,
  connectRedis,
  defineScripts,
  Keys,
  type LocalRedis,
  RedisBus,
  RedisPresence,
  type ScriptedRedis,
  startLocalRedis,
  waitReady,
} from "@herald/redis";
import { Job, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HandlerRegistry } from "../src/handler-registry.js";
import { MessageProcessor } from "../src/message-processor.js";
import { PublishSequencer } from "../src/publish-sequencer.js";
import { WorkerMetrics } from "../src/worker-metrics.js";

/**
 * The processor against a real Redis and real BullMQ jobs, where a job is retried: a first
 * attempt fails part way because one of its connections points at a Redis that is down (as
 * when Redis drops mid-job), and BullMQ runs the job again. Jobs come from another
 * language's BullMQ client (`{"messages":[…]}`) unless said otherwise.
 */
const keys = new Keys("processor");
let redis: LocalRedis;
let down: LocalRedis;
let commands: ScriptedRedis;
let subscriber: Redis;
let deadBus: ScriptedRedis;
let queue: Queue;
const deadBusErrors: string[] = [];
const delivered: { target: string; frame: string }[] = [];

beforeAll(async () => {
  [redis, down] = await Promise.all([startLocalRedis(), startLocalRedis()]);
  commands = defineScripts(connectRedis(redis.url, { name: "test-commands" }));
  subscriber = connectRedis(redis.url, { name: "test-subscriber" });
  subscriber.on("message", (_channel: string, payload: string) => {
    decodeDeliveries(payload, (d) => delivered.push({ target: d.target, frame: d.frame }));
  });
  await subscriber.subscribe(keys.nodeChannel("edge-1", "bulk"));
  const presence = new RedisPresence(commands, keys, "edge-1");
  await presence.heartbeat();
  await Promise.all(["ann", "ben"].map((u) => presence.addConnection(u)));
  deadBus = defineScripts(connectRedis(down.url, { name: "test-dead-bus", failFast: true }));
  deadBus.on("error", (err: Error) => {
    deadBusErrors.push(err.message); // expected: its Redis is stopped below
  });
  await waitReady(deadBus, 5000);
  await down.stop(); // a connection whose Redis went away: every command fails at once
  if (deadBus.status === "ready") await once(deadBus, "close");
  queue = new Queue(QUEUE_NAMES.normal, { connection: commands, prefix: keys.tag });
});
afterAll(async () => {
  await queue?.close();
  deadBus?.disconnect();
  await closeRedis(subscriber);
  await closeRedis(commands);
  await redis?.stop();
});

/** Fails every "flaky" message, counting the calls. */
let flakyCalls = 0;
const handlers = new HandlerRegistry()
  .on("flaky", () => {
    flakyCalls++;
    throw new Error("flaky handler");
  })
  // What a database driver hands back for a bigint column: JSON cannot encode it.
  .on("bigint", (m) => ({ ...m, data: { total: 10n } }));

function processor(bus: RedisBus, opts: { registry?: Registry; queues?: ScriptedRedis } = {}): MessageProcessor {
  const metrics = new WorkerMetrics(opts.registry ?? new Registry());
  // Retries and dead letters go through `queues` (Redis may be down there).
  const queues = opts.queues ?? commands;
  const deps = {
    handlers,
    bus,
    enqueuer: new Enqueuer(
      { redis: queues, keys, pending: new PendingCount(queues, keys) },
      { capacity: 1000, maxMessagesPerJob: 100 },
    ),
    deadLetters: new DeadLetters(queues, keys, 100),
    pending: new PendingCount(commands, keys),
    metrics,
    log: createLogger("silent"),
  };
  const options = { handlerTimeoutMs: 1000, maxAttempts: 3, backoffBaseMs: 60_000, backoffMaxMs: 60_000 };
  return new MessageProcessor(options, deps);
}

const pending = async () => Number((await commands.get(keys.pending("normal"))) ?? 0);
const fetchJob = async (id: string | undefined) => (await Job.fromId(queue, id as string)) as Job;
const retriesQueued = () => queue.getDelayedCount();
const ticket = () => new PublishSequencer().ticket();

/**
 * Publishes a sentinel to ann and waits for it: whatever was published to the node before
 * has arrived by then (one channel, in order), so what has not arrived was not published.
 */
async function barrier(): Promise<void> {
  const frame = `sentinel-${Math.random()}`;
  const sentinel = { kind: "user", target: "ann", priority: "normal", ts: 0, frame } as const;
  await new RedisBus(keys, commands).deliver({ deliveries: [sentinel], priority: "normal", release: 0 });
  await expect.poll(() => delivered.some((d) => d.frame === frame)).toBe(true);
  delivered.splice(
    delivered.findIndex((d) => d.frame === frame),
    1,
  );
}

describe("foreign jobs", () => {
  it("are validated, given ids, and delivered", async () => {
    const p = processor(new RedisBus(keys, commands));
    const job = await queue.add("any-name", { messages: [{ to: { user: "ann" }, event: "hi", data: { n: 1 } }] });
    delivered.length = 0;
    await p.process("normal", await fetchJob(job.id), ticket());
    await expect.poll(() => delivered.length).toBe(1);
    const frame = JSON.parse(delivered[0]?.frame as string);
    expect(frame).toMatchObject({ type: "message", event: "hi", data: { n: 1 }, priority: "normal" });
    expect(frame.id).toMatch(/^[0-9a-z]{13}$/);
    expect(await pending()).toBe(0);
  });

  it("are retried with the ids and pending count of their first attempt", async () => {
    const messages = [
      { to: { user: "ann" }, event: "plain" },
      { to: { user: "ben" }, event: "keyed", id: "order-17" },
    ];
    const job = await queue.add("any-name", { messages });
    const before = await pending();
    const failing = processor(new RedisBus(keys, deadBus));
    await expect(failing.process("normal", await fetchJob(job.id), ticket())).rejects.toThrow();
    expect(await pending()).toBe(before + 2); // reserved, not yet released: the job will be retried
    const stored = (await fetchJob(job.id)).data;
    expect(isHeraldJob(stored)).toBe(true);
    const ids = (stored as { messages: { id: string }[] }).messages.map((m) => m.id);

    delivered.length = 0;
    const p = processor(new RedisBus(keys, commands));
    await p.process("normal", await fetchJob(job.id), ticket());
    await expect.poll(() => delivered.length).toBe(2);
    // Both arrive (the keyed one is not taken for a duplicate of itself), with the first attempt's ids.
    expect(delivered.map((d) => [d.target, JSON.parse(d.frame).id])).toEqual([
      ["ann", ids[0]],
      ["ben", ids[1]],
    ]);
    expect(await pending()).toBe(before); // counted once, released once
  });

  it("are dropped whole when invalid, and counted", async () => {
    const registry = new Registry();
    const p = processor(new RedisBus(keys, commands), { registry });
    const job = await queue.add("any-name", { messages: [{ to: { user: "ann" }, event: "ok" }, { to: {} }] });
    const before = await pending();
    delivered.length = 0;
    await p.process("normal", await fetchJob(job.id), ticket());
    const invalid = (await registry.getSingleMetric("herald_worker_messages_total")?.get())?.values.find(
      (v) => v.labels.outcome === "invalid",
    );
    expect(invalid?.value).toBe(2);
    await barrier();
    expect(delivered).toEqual([]);
    expect(await pending()).toBe(before);
  });
});

describe("a job whose handlers failed for some messages", () => {
  const messages = [
    { to: { user: "ann" }, event: "fine" },
    { to: { user: "ben" }, event: "flaky" },
  ];

  it("publishes nothing when re-enqueueing the failures fails, so the retry delivers once", async () => {
    const job = await queue.add("any-name", { messages });
    const before = { pending: await pending(), retries: await retriesQueued() };
    delivered.length = 0;
    const settleFails = processor(new RedisBus(keys, commands), { queues: deadBus });
    await expect(settleFails.process("normal", await fetchJob(job.id), ticket())).rejects.toThrow();
    await barrier();
    expect(delivered).toEqual([]); // the publish comes after the failures are settled

    await processor(new RedisBus(keys, commands)).process("normal", await fetchJob(job.id), ticket());
    await expect.poll(() => delivered.length).toBe(1);
    await barrier();
    expect(delivered.map((d) => d.target)).toEqual(["ann"]); // once
    expect(await retriesQueued()).toBe(before.retries + 1); // ben's retry, waiting its back-off
    expect(await pending()).toBe(before.pending + 1); // ben is still pending; ann was released
  });

  it("does not run the handlers or re-enqueue the failures again when only the publish failed", async () => {
    const job = await queue.add("any-name", { messages });
    const before = { pending: await pending(), retries: await retriesQueued(), flaky: flakyCalls };
    delivered.length = 0;
    const publishFails = processor(new RedisBus(keys, deadBus));
    await expect(publishFails.process("normal", await fetchJob(job.id), ticket())).rejects.toThrow();
    expect(flakyCalls).toBe(before.flaky + 1);
    expect(await retriesQueued()).toBe(before.retries + 1);

    await processor(new RedisBus(keys, commands)).process("normal", await fetchJob(job.id), ticket());
    await expect.poll(() => delivered.length).toBe(1);
    expect(delivered.map((d) => d.target)).toEqual(["ann"]);
    expect(flakyCalls).toBe(before.flaky + 1); // not run again
    expect(await retriesQueued()).toBe(before.retries + 1); // not re-enqueued again
    expect(await pending()).toBe(before.pending + 1);
  });
});

describe("messages that cannot be delivered", () => {
  const deadCount = () => new DeadLetters(commands, keys, 100).count();
  const deadErrors = async () => (await new DeadLetters(commands, keys, 100).list(0, 99)).map((d) => d.error);

  it("dead-letters a handler result JSON cannot encode, and delivers the rest and the next job", async () => {
    const sequencer = new PublishSequencer();
    const p = processor(new RedisBus(keys, commands));
    const first = await queue.add("any-name", {
      messages: [
        { to: { user: "ann" }, event: "bigint" },
        { to: { user: "ben" }, event: "fine", data: { n: 1 } },
      ],
    });
    const second = await queue.add("any-name", { messages: [{ to: { user: "ann" }, event: "after" }] });
    const before = { dead: await deadCount(), pending: await pending() };
    delivered.length = 0;
    // Tickets of one sequencer: if the first job's were left unsettled, the second would never publish.
    const [t1, t2] = [sequencer.ticket(), sequencer.ticket()];
    await Promise.all([
      p.process("normal", await fetchJob(first.id), t1),
      p.process("normal", await fetchJob(second.id), t2),
    ]);
    await expect.poll(() => delivered.map((d) => JSON.parse(d.frame).event)).toEqual(["fine", "after"]);
    expect(await deadCount()).toBe(before.dead + 1);
    expect((await deadErrors()).some((e) => /BigInt/.test(e))).toBe(true);
    expect(await pending()).toBe(before.pending); // all three finished: none left counted
  });

  it("dead-letters a malformed message of a job in Herald's form, and delivers the well-formed one", async () => {
    const p = processor(new RedisBus(keys, commands));
    const good = { id: "0mwxvcmom0000", to: { user: "ann" }, event: "ok", data: null, priority: "normal", ts: 1 };
    const job = await queue.add("any-name", { v: 1, messages: [good, { ...good, to: null }], counted: 2 });
    const before = { dead: await deadCount(), pending: await pending() };
    delivered.length = 0;
    await p.process("normal", await fetchJob(job.id), ticket());
    await expect.poll(() => delivered.map((d) => d.target)).toEqual(["ann"]);
    await barrier();
    expect(delivered).toHaveLength(1);
    expect(await deadCount()).toBe(before.dead + 1);
    expect((await deadErrors()).some((e) => /malformed message: to/.test(e))).toBe(true);
    expect(await pending()).toBe(before.pending - 2); // what the job said it counted, no more
  });
});
