#!/usr/bin/env node
// Standalone Redis vs a local 3-master Redis Cluster, the same targeted workload on each:
// one herald edge and one herald worker, U users with one WebSocket each, messages to random
// users POSTed in requests of 50 at offered rates. Reports, per rate: achieved rate, loss,
// latency from acceptance to receipt, and each Redis server's CPU per message (INFO cpu
// before and after), then the cluster/standalone ratios. Then a drain: `--drain` messages
// queued while no worker runs, then one worker started: its delivery rate is the publish
// path's throughput, whatever the load generator can offer.
//
//   node scripts/bench/redis-cluster.mjs [--users 1000] [--seconds 10] [--rates 5000,10000,20000] [--drain 40000]
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { signToken, startHerald, startLocalCluster, startLocalRedis } from "@herald/testkit";
import { Redis } from "ioredis";
import WebSocket from "ws";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    rates: { type: "string", default: "5000,10000,20000" },
    drain: { type: "string", default: "40000" },
  },
});
const USERS = Number(values.users);
const SECONDS = Number(values.seconds);
const RATES = values.rates.split(",").map(Number);
const DRAIN = Number(values.drain);
const PER_REQUEST = 50;
const DATA = "x".repeat(200);

async function deployment(kind) {
  const redis =
    kind === "cluster" ? await startLocalCluster({ masters: 3 }) : await startLocalRedis({ dieWithParent: true });
  const ports = kind === "cluster" ? redis.nodes.map((n) => n.port) : [redis.port];
  const secret = randomBytes(24).toString("hex");
  const apiKey = randomBytes(16).toString("hex");
  const env = {
    REDIS_URL: redis.url,
    HERALD_JWT_SECRET: secret,
    HERALD_API_KEYS: apiKey,
    HERALD_PREFIX: "bench",
    HERALD_QUEUE_CAPACITY: "200000",
    LOG_LEVEL: "info",
    ...(kind === "cluster" ? { HERALD_REDIS_CLUSTER: "1" } : {}),
  };
  let edge;
  const workers = [];
  const startWorker = async () => {
    workers.push(await startHerald("worker", { ...env, HERALD_NODE_ID: `worker-${workers.length}` }));
  };
  try {
    edge = await startHerald("edge", { ...env, HERALD_NODE_ID: "edge-0" });
    await startWorker();
  } catch (err) {
    await edge?.stop("SIGKILL");
    await redis.stop();
    throw err;
  }
  return {
    kind,
    ports,
    edge,
    secret,
    apiKey,
    startWorker,
    async stopWorkers() {
      await Promise.allSettled(workers.splice(0).map((w) => w.stop("SIGTERM")));
    },
    async stop() {
      await Promise.allSettled([edge.stop("SIGTERM"), ...workers.map((w) => w.stop("SIGTERM"))]);
      await redis.stop();
    },
  };
}

/** Opens one connection per user; every message frame's latency (receipt - accepted ts) is recorded. */
async function openClients(d) {
  const latencies = [];
  const sockets = [];
  for (let i = 0; i < USERS; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, USERS - i) }, async (_, j) => {
        const token = await signToken(d.secret, `u${i + j}`);
        const ws = new WebSocket(`ws://127.0.0.1:${d.edge.port}/v1/ws?token=${token}`);
        ws.on("message", (raw) => {
          const text = raw.toString();
          if (!text.includes('"type":"message"')) return;
          latencies.push(Date.now() - JSON.parse(text).ts);
        });
        sockets.push(ws);
        await new Promise((resolve, reject) => {
          ws.once("message", resolve);
          ws.once("error", reject);
        });
      }),
    );
  }
  return {
    latencies,
    close: () => {
      for (const s of sockets) s.close();
    },
  };
}

async function post(d, count) {
  const messages = Array.from({ length: count }, () => ({
    to: { user: `u${Math.floor(Math.random() * USERS)}` },
    event: "bench",
    data: DATA,
  }));
  const res = await fetch(`http://127.0.0.1:${d.edge.port}/v1/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${d.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ messages }),
  });
  await res.arrayBuffer();
  return res.status === 202 ? count : 0;
}

/** Seconds of CPU (user + sys) each Redis server has used. */
async function redisCpu(ports) {
  return Promise.all(
    ports.map(async (port) => {
      const r = new Redis({ port, host: "127.0.0.1" });
      const info = await r.info("cpu");
      r.disconnect();
      const field = (k) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
      return field("used_cpu_user") + field("used_cpu_sys");
    }),
  );
}

/** Offers `rate` messages/s for SECONDS, then waits (up to 10 s) for the deliveries to settle. */
async function run(d, clients, rate) {
  clients.latencies.length = 0;
  const cpuBefore = await redisCpu(d.ports);
  const started = Date.now();
  const requestsPerTick = rate / PER_REQUEST / 100; // a tick every 10 ms
  let due = 0;
  let accepted = 0;
  const inFlight = new Set();
  while (Date.now() - started < SECONDS * 1000) {
    due += requestsPerTick;
    for (; due >= 1; due--) {
      const p = post(d, PER_REQUEST).then((n) => {
        accepted += n;
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(inFlight);
  const sent = Date.now() - started;
  for (let i = 0; i < 100 && clients.latencies.length < accepted; i++) await new Promise((r) => setTimeout(r, 100));
  const elapsed = (Date.now() - started) / 1000;
  const cpuAfter = await redisCpu(d.ports);
  const sorted = [...clients.latencies].sort((a, b) => a - b);
  const pct = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
  const cpuUsPerMsg = cpuAfter.map((c, i) => Math.round(((c - cpuBefore[i]) * 1e6) / Math.max(1, accepted)));
  return {
    kind: d.kind,
    offered: rate,
    accepted,
    delivered: sorted.length,
    achieved: Math.round(sorted.length / (sent / 1000)),
    drainSeconds: Number((elapsed - sent / 1000).toFixed(1)),
    p50: pct(0.5),
    p99: pct(0.99),
    redisCpuUsPerMsg: cpuUsPerMsg,
    redisCpuUsPerMsgTotal: cpuUsPerMsg.reduce((a, b) => a + b, 0),
  };
}

/** Queues DRAIN messages with no worker running, starts one, and times their delivery. */
async function drain(d, clients) {
  await d.stopWorkers();
  clients.latencies.length = 0;
  let queued = 0;
  for (let i = 0; i < DRAIN; i += PER_REQUEST * 20) {
    const counts = await Promise.all(Array.from({ length: 20 }, () => post(d, PER_REQUEST)));
    queued += counts.reduce((a, b) => a + b, 0);
  }
  const cpuBefore = await redisCpu(d.ports);
  const started = Date.now();
  await d.startWorker();
  while (clients.latencies.length < queued && Date.now() - started < 120_000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (Date.now() - started) / 1000;
  const cpuAfter = await redisCpu(d.ports);
  const cpuUsPerMsg = cpuAfter.map((c, i) => Math.round(((c - cpuBefore[i]) * 1e6) / Math.max(1, queued)));
  return {
    kind: d.kind,
    drain: queued,
    delivered: clients.latencies.length,
    seconds: Number(seconds.toFixed(2)),
    rate: Math.round(clients.latencies.length / seconds),
    redisCpuUsPerMsg: cpuUsPerMsg,
    redisCpuUsPerMsgTotal: cpuUsPerMsg.reduce((a, b) => a + b, 0),
  };
}

const results = [];
const drains = [];
for (const kind of ["standalone", "cluster"]) {
  const d = await deployment(kind);
  try {
    const clients = await openClients(d);
    await run(d, clients, 1000); // warm-up: connections, JIT, scripts loaded
    for (const rate of RATES) {
      const r = await run(d, clients, rate);
      results.push(r);
      console.log(JSON.stringify(r));
    }
    if (DRAIN > 0) {
      const r = await drain(d, clients);
      drains.push(r);
      console.log(JSON.stringify(r));
    }
    clients.close();
  } finally {
    await d.stop();
  }
}
console.log(
  "\nrate      standalone p50/p99 (ms)   cluster p50/p99 (ms)   achieved ratio   Redis CPU µs/msg standalone | cluster per shard",
);
for (const rate of RATES) {
  const s = results.find((r) => r.kind === "standalone" && r.offered === rate);
  const c = results.find((r) => r.kind === "cluster" && r.offered === rate);
  if (!s || !c) continue;
  console.log(
    `${String(rate).padEnd(9)} ${`${s.p50}/${s.p99}`.padEnd(25)} ${`${c.p50}/${c.p99}`.padEnd(22)} ${(c.delivered / Math.max(1, s.delivered)).toFixed(2).padEnd(16)} ${s.redisCpuUsPerMsgTotal} | ${c.redisCpuUsPerMsg.join(" + ")} = ${c.redisCpuUsPerMsgTotal}`,
  );
}
const [ds, dc] = ["standalone", "cluster"].map((k) => drains.find((r) => r.kind === k));
if (ds && dc) {
  console.log(
    `\ndrain of ${ds.drain}: standalone ${ds.rate} msg/s, cluster ${dc.rate} msg/s, ratio ${(dc.rate / ds.rate).toFixed(2)}; Redis CPU µs/msg standalone ${ds.redisCpuUsPerMsgTotal} | cluster ${dc.redisCpuUsPerMsg.join(" + ")} = ${dc.redisCpuUsPerMsgTotal}`,
  );
}
