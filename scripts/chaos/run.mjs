#!/usr/bin/env node
// Chaos: a steady producer and many clients over 2 edges and 2 workers on Redis with an AOF,
// while edges, workers and Redis are killed, and Redis is paused past the node expiry.
//   npm run test:chaos                 every fault (about 4 minutes)
//   npm run test:chaos -- --short      an edge and Redis killed (about a minute; CI runs this)
//   npm run test:chaos -- --dump=FILE  also writes the lost messages, with their times, to FILE
// Prints a table per phase and exits 1 on any message answered 202 that a client connected
// throughout never received, beyond what the AOF (appendfsync everysec) lost: a message
// is excused only if the AOF Redis left when killed does not hold it (see ledger.mjs).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseId } from "@herald/protocol";
import { startLocalRedis } from "@herald/redis";
import { startHerald } from "@herald/testkit";
import { stopDescendantsOnExit } from "../bench/lib/stop-descendants.mjs";
import { ChaosClient } from "./clients.mjs";
import { aofReader, explainLoss } from "./forensics.mjs";
import { AOF_LOSS_BOUND_MS, outcome, phases, table } from "./ledger.mjs";

stopDescendantsOnExit("chaos");
const short = process.argv.includes("--short");
const CLIENTS = 40;
const RATE = 100; // messages/s, each to one client
const log = (line) => console.log(`chaos: ${line}`);

const t0 = Date.now();
const clock = () => Date.now() - t0;
const aofDir = mkdtempSync(join(tmpdir(), "herald-chaos-"));
let redis = await startLocalRedis({ aofDir });
const secret = "chaos-secret-0123456789abcdef";
const apiKey = "chaos-producer-key-0123456789";
const env = {
  REDIS_URL: redis.url,
  HERALD_JWT_SECRET: secret,
  HERALD_API_KEYS: apiKey,
  HERALD_PREFIX: "chaos",
  HERALD_JOB_TIMEOUT_MS: "2000",
  HERALD_CANARY_SECONDS: "1",
  LOG_LEVEL: "info",
};
const edges = await Promise.all([0, 1].map((i) => startHerald("edge", { ...env, HERALD_NODE_ID: `edge-${i}` })));
const workers = await Promise.all([0, 1].map((i) => startHerald("worker", { ...env, HERALD_NODE_ID: `worker-${i}` })));
const started = [...edges, ...workers]; // every process, for the logs of a lost message's edge
const ports = () => edges.filter((e) => e.alive !== false).map((e) => e.port);
log(`redis ${redis.url} (AOF everysec in ${aofDir}), edges on ${ports().join(", ")}, ${workers.length} workers`);

const clients = Array.from({ length: CLIENTS }, (_, i) => new ChaosClient(`c${i}`, secret, ports, clock));
await Promise.all(clients.map((c) => c.start()));
while (!clients.every((c) => c.connected)) await sleep(50);

// ---- the producer: RATE messages/s, round robin over clients and live edges ----
const messages = [];
let producing = true;
const producer = (async () => {
  let seq = 0;
  while (producing) {
    const n = seq++;
    const port = ports()[n % Math.max(1, ports().length)];
    // reservedAt: when Redis reserved the message's id (the id's milliseconds, Redis's clock: this machine's).
    const m = {
      seq: n,
      client: n % CLIENTS,
      port,
      postStart: clock(),
      status: 0,
      id: undefined,
      acceptedAt: undefined,
      reservedAt: undefined,
    };
    messages.push(m);
    fetch(`http://127.0.0.1:${port}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ to: { user: `c${m.client}` }, event: "chaos", data: { seq: n } }),
      signal: AbortSignal.timeout(5000),
    }).then(
      async (res) => {
        m.status = res.status;
        if (res.status === 202) {
          m.id = (await res.json()).ids[0];
          m.acceptedAt = clock();
          m.reservedAt = (parseId(m.id)?.ms ?? Number.NaN) - t0;
        }
      },
      () => {
        m.status = -1; // refused, reset or timed out: not accepted
      },
    );
    await sleep(1000 / RATE);
  }
})();

// ---- faults ----
const faults = [];
const fault = (name, kind) => {
  const f = { name, kind, at: clock() };
  faults.push(f);
  log(`${name} at ${(clock() / 1000).toFixed(1)} s`);
  return f;
};
async function killAndRestart(list, i, role) {
  const p = list[i];
  p.alive = false;
  process.kill(p.pid, "SIGKILL");
  await p.exited;
  await sleep(2000);
  const t = clock();
  list[i] = await startHerald(role, { ...env, HERALD_NODE_ID: `${role}-${i}` });
  started.push(list[i]);
  log(`${role}-${i} restarted: serving ${((clock() - t) / 1000).toFixed(1)} s after its start`);
}

await sleep(5000);
fault("SIGKILL edge-0 (restarted 2 s later)", "edge-kill");
await killAndRestart(edges, 0, "edge");
await sleep(8000);
if (!short) {
  fault("SIGKILL worker-0 (restarted 2 s later)", "worker-kill");
  await killAndRestart(workers, 0, "worker");
  await sleep(10_000);
}
const redisKill = fault("SIGKILL Redis (restarted from its AOF 2 s later)", "redis-kill");
await redis.stop(true);
// What appendfsync everysec lost is measured, not assumed: the AOF the dead Redis left (what the
// restarted one loads) holds every job it wrote, each with its message ids.
redisKill.deadAt = clock();
redisKill.aofHas = aofReader(aofDir);
await sleep(2000);
redis = await startLocalRedis({ port: redis.port, aofDir });
await sleep(10_000);
if (!short) {
  fault("SIGSTOP Redis for 35 s (past the 30 s node expiry)", "redis-pause");
  process.kill(redis.pid, "SIGSTOP");
  await sleep(35_000);
  process.kill(redis.pid, "SIGCONT");
  await sleep(10_000);
}
producing = false;
await producer;
const producedUntil = clock();

// ---- drain: until every accepted message reached a client that stayed connected, or the deadline ----
const drainDeadline = clock() + (short ? 30_000 : 90_000); // a killed worker's jobs wait out their lock (15 s)
await sleep(5000); // the last requests' answers
const settled = () => messages.every((m) => m.status !== 202 || clients[m.client].received.has(m.id));
while (!settled() && clock() < drainDeadline) await sleep(500);
const runEnd = clock();
for (const c of clients) c.stop();

const rows = phases(messages, clients, faults, runEnd, producedUntil);
const notInAof = messages.filter(
  (m) => m.status === 202 && outcome(m, clients[m.client], faults, runEnd) === "not in the AOF",
);
const lastAccepted = messages.filter(
  (m) => m.status === 202 && m.reservedAt <= redisKill.deadAt && m.reservedAt >= redisKill.deadAt - AOF_LOSS_BOUND_MS,
);
log(
  `Redis was dead ${redisKill.deadAt - redisKill.at} ms after the SIGKILL; of the ${lastAccepted.length} messages it ` +
    `accepted in its last ${AOF_LOSS_BOUND_MS} ms, ${lastAccepted.filter((m) => !redisKill.aofHas(m.id)).length} are ` +
    `not in its AOF (and undelivered: ${notInAof.length})`,
);
const lostOnes = messages.filter((m) => m.status === 202 && outcome(m, clients[m.client], faults, runEnd) === "lost");
const explained = [];
if (lostOnes.length) {
  const { Redis } = await import("ioredis");
  const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const context = { faults, clients, started, prefix: env.HERALD_PREFIX, runEnd, t0 };
  for (const m of lostOnes) explained.push(await explainLoss(m, r, context));
  r.disconnect();
}
for (const e of explained) log(`lost: ${e.text}`);
const dump = process.argv.find((a) => a.startsWith("--dump="))?.slice(7);
if (dump) {
  const { writeFileSync } = await import("node:fs");
  const lost = explained.map((e) => e.detail);
  writeFileSync(dump, JSON.stringify({ faults, runEnd, producedUntil, lost, notInAof }, null, 1));
}
console.log(`\n${table(rows)}\n`);
const lost = rows.reduce((n, r) => n + r.lost, 0);
log(
  `${messages.filter((m) => m.status === 202).length} accepted, ${lost} lost beyond what the AOF lost ` +
    "(clients resume with since: what they missed while away is replayed)",
);
await Promise.allSettled([...edges, ...workers].map((p) => p.stop("SIGTERM")));
await redis.stop();
rmSync(aofDir, { recursive: true, force: true });
process.exit(lost === 0 ? 0 : 1);
