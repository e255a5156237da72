#!/usr/bin/env node
// Chaos: a steady producer and many clients over 2 edges and 2 workers on Redis with an AOF,
// while edges, workers and Redis are killed, and Redis is paused past the node expiry.
//   npm run test:chaos                 every fault (about 4 minutes)
//   npm run test:chaos -- --short      an edge and Redis killed (about a minute; CI runs this)
//   npm run test:chaos -- --dump=FILE  also writes the lost messages, with their times, to FILE
// Prints a table per phase and exits 1 on any message answered 202 that a client connected
// throughout never received, beyond what the AOF (appendfsync everysec) may lose.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startLocalRedis } from "@herald/redis";
import { startHerald } from "@herald/testkit";
import { stopDescendantsOnExit } from "../bench/lib/stop-descendants.mjs";
import { ChaosClient } from "./clients.mjs";
import { outcome, phases, table } from "./ledger.mjs";

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
    const m = { seq: n, client: n % CLIENTS, postStart: clock(), status: 0, id: undefined, acceptedAt: undefined };
    messages.push(m);
    const port = ports()[n % Math.max(1, ports().length)];
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
  faults.push({ name, kind, at: clock() });
  log(`${name} at ${(clock() / 1000).toFixed(1)} s`);
};
async function killAndRestart(list, i, role) {
  const p = list[i];
  p.alive = false;
  process.kill(p.pid, "SIGKILL");
  await p.exited;
  await sleep(2000);
  list[i] = await startHerald(role, { ...env, HERALD_NODE_ID: `${role}-${i}` });
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
fault("SIGKILL Redis (restarted from its AOF 2 s later)", "redis-kill");
await redis.stop(true);
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
const dump = process.argv.find((a) => a.startsWith("--dump="))?.slice(7);
if (dump) {
  const { writeFileSync } = await import("node:fs");
  const lostOnes = messages.filter((m) => m.status === 202 && outcome(m, clients[m.client], faults, runEnd) === "lost");
  writeFileSync(dump, JSON.stringify({ faults, runEnd, producedUntil, lost: lostOnes }, null, 1));
}
console.log(`\n${table(rows)}\n`);
const lost = rows.reduce((n, r) => n + r.lost, 0);
log(
  `${messages.filter((m) => m.status === 202).length} accepted, ${lost} lost beyond the AOF window ` +
    "(clients resume with since: what they missed while away is replayed)",
);
await Promise.allSettled([...edges, ...workers].map((p) => p.stop("SIGTERM")));
await redis.stop();
rmSync(aofDir, { recursive: true, force: true });
process.exit(lost === 0 ? 0 : 1);
