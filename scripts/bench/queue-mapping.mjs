#!/usr/bin/env node
// How should four priorities map onto BullMQ? Measures, on a private redis-server:
//  - add throughput of plain jobs (a queue's list) vs prioritized jobs (its sorted set);
//  - latency of one critical job added behind a low backlog that a busy worker drains,
//    (a) one queue with BullMQ job priorities, (b) one queue per priority, each with its worker.
// Usage: node scripts/bench/queue-mapping.mjs [--backlog 2000] [--runs 5] [--work 2]
import { performance } from "node:perf_hooks";
import { startLocalRedis } from "@herald/redis";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { numberOption } from "./lib/options.mjs";

const BACKLOG = numberOption("backlog", 2000);
const RUNS = numberOption("runs", 5);
const WORK_MS = numberOption("work", 2); // simulated handler time per job (ms)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const redis = await startLocalRedis();
const conn = () => new Redis(redis.url, { maxRetriesPerRequest: null });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function addRate(priority, n = 5000) {
  const q = new Queue(`add-${priority}-${Math.random()}`, { connection: conn() });
  const jobs = Array.from({ length: n }, (_, i) => ({ name: "m", data: { i }, opts: priority ? { priority } : {} }));
  const t = performance.now();
  for (let i = 0; i < n; i += 100) await q.addBulk(jobs.slice(i, i + 100));
  const rate = n / ((performance.now() - t) / 1000);
  await q.obliterate({ force: true });
  await q.close();
  return rate;
}

async function criticalLatency(mode) {
  const tag = `${mode}-${Math.random()}`;
  const queues =
    mode === "one-queue"
      ? { low: `${tag}-all`, critical: `${tag}-all` }
      : { low: `${tag}-low`, critical: `${tag}-critical` };
  const low = new Queue(queues.low, { connection: conn() });
  const critical = queues.critical === queues.low ? low : new Queue(queues.critical, { connection: conn() });
  const lowOpts = mode === "one-queue" ? { priority: 4 } : {};
  const critOpts = mode === "one-queue" ? { priority: 1 } : {};
  for (let i = 0; i < BACKLOG; i += 100) {
    await low.addBulk(Array.from({ length: 100 }, () => ({ name: "low", data: {}, opts: lowOpts })));
  }
  let resolveCritical;
  const done = new Promise((r) => (resolveCritical = r));
  const processor = async (job) => {
    if (job.name === "critical") resolveCritical(performance.now() - job.data.t);
    else await sleep(WORK_MS);
  };
  const workers = [...new Set(Object.values(queues))].map(
    (name) => new Worker(name, processor, { connection: conn(), concurrency: 10 }),
  );
  await sleep(200); // the backlog is draining
  await critical.add("critical", { t: performance.now() }, critOpts);
  const latency = await done;
  await Promise.all(workers.map((w) => w.close(true)));
  for (const q of new Set([low, critical])) {
    await q.obliterate({ force: true });
    await q.close();
  }
  return latency;
}

const results = { plainAdd: [], prioritizedAdd: [], oneQueue: [], perPriority: [] };
for (let r = 0; r < RUNS; r++) {
  results.plainAdd.push(await addRate(0));
  results.prioritizedAdd.push(await addRate(3));
  results.oneQueue.push(await criticalLatency("one-queue"));
  results.perPriority.push(await criticalLatency("per-priority"));
  process.stderr.write(`run ${r + 1}/${RUNS} done\n`);
}
await redis.stop();

console.log(
  `BullMQ priority mapping, medians of ${RUNS} runs (backlog ${BACKLOG} low jobs, ${WORK_MS} ms each, concurrency 10)`,
);
console.log(`| measure | one queue + BullMQ priorities | one queue per priority |`);
console.log(`|---|---|---|`);
console.log(
  `| jobs added/s (addBulk of 100) | ${median(results.prioritizedAdd).toFixed(0)} (prioritized) | ${median(results.plainAdd).toFixed(0)} (plain) |`,
);
console.log(
  `| critical latency behind the backlog, ms | ${median(results.oneQueue).toFixed(1)} | ${median(results.perPriority).toFixed(1)} |`,
);
process.exit(0);
