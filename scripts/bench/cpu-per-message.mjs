#!/usr/bin/env node
// CPU per delivered message of the edge and the worker (from /proc), at a fixed targeted rate
// below the knee: steadier than achieved rates for before/after comparisons of a hot path.
// The baseline, in the same run: raw uWS sending the same messages from its own process (its
// CPU per message is the floor the edge's one write per targeted message sits on).
// Also prints every process's share on Herald's path (producer, Redis, worker, edge, clients).
// And Redis's work per message (the inputs of the sizing model in docs/scaling.md): commands
// (those scripts run included) and bytes in and out, from INFO before and after.
// Run it on two checkouts, alternating, and compare medians.
// Usage: node scripts/bench/cpu-per-message.mjs [--rate 25000] [--seconds 8] [--users 1000]
import { Redis } from "ioredis";
import { Fleet } from "./lib/fleet.mjs";
import { measure } from "./lib/measure.mjs";
import { numberOption } from "./lib/options.mjs";
import { processStats, SYSTEMS } from "./lib/systems.mjs";

const users = Array.from({ length: numberOption("users", 1000) }, (_, i) => `u${i}`);
const load = { users, rate: numberOption("rate", 25_000), seconds: numberOption("seconds", 8), size: 200 };

/** Redis's counters so far: commands run (inside scripts too), script calls, bytes in and out. */
async function redisCounters(url) {
  const redis = new Redis(url);
  try {
    const stats = await redis.info("stats");
    const commands = await redis.info("commandstats");
    const field = (name) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(stats)?.[1] ?? 0);
    let calls = 0;
    let scripts = 0;
    for (const [, name, n] of commands.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
      calls += Number(n);
      if (name === "evalsha" || name === "eval") scripts += Number(n);
    }
    return { calls, scripts, bytesIn: field("total_net_input_bytes"), bytesOut: field("total_net_output_bytes") };
  } finally {
    redis.disconnect();
  }
}

/** Runs the load against a system; returns the delivered rate, loss, CPU µs per message per process and Redis's work per message. */
async function cpuPerMessage(sys, pids) {
  const fleet = await Fleet.start(2);
  try {
    await fleet.open({ protocol: sys.protocol, ports: sys.ports, secret: sys.secret }, users);
    for (const [i, child] of fleet.children.entries()) pids[`client${i}`] = child.pid;
    const before = {};
    for (const [role, pid] of Object.entries(pids)) before[role] = await processStats(pid);
    const redisBefore = sys.env && (await redisCounters(sys.env.REDIS_URL));
    const m = await measure(fleet, () => sys.targeted(load));
    const redisAfter = sys.env && (await redisCounters(sys.env.REDIS_URL));
    const perMessage = {};
    for (const [role, pid] of Object.entries(pids)) {
      perMessage[role] = (((await processStats(pid)).cpuSeconds - before[role].cpuSeconds) * 1e6) / m.frames;
    }
    const redis =
      redisBefore &&
      Object.fromEntries(Object.keys(redisAfter).map((k) => [k, (redisAfter[k] - redisBefore[k]) / m.frames]));
    return { rate: m.rate, lost: m.accepted - m.frames, perMessage, redis };
  } finally {
    await fleet.stop();
    await sys.stop();
  }
}

const us = (v) => `${v.toFixed(1)} µs/msg`;
const rawSys = await SYSTEMS["raw-uws"]();
const raw = await cpuPerMessage(rawSys, { raw: rawSys.pids[0] });
const heraldSys = await SYSTEMS.herald({ via: "sdk" });
const herald = await cpuPerMessage(heraldSys, {
  edge: heraldSys.pids[0],
  worker: heraldSys.workerPids[0],
  producer: heraldSys.producerPid,
  redis: heraldSys.redisPids[0],
});
console.log(`raw uWS: ${Math.round(raw.rate)}/s delivered, ${us(raw.perMessage.raw)} (its in-process sender included)`);
console.log(
  `Herald: ${Math.round(herald.rate)}/s delivered, lost ${herald.lost}: edge ${us(herald.perMessage.edge)} ` +
    `(${(herald.perMessage.edge / raw.perMessage.raw).toFixed(2)}x raw uWS), worker ${us(herald.perMessage.worker)}`,
);
// Where two cores' worth goes: every process on the path, the load generator's too.
const all = Object.entries(herald.perMessage);
console.log(
  `  every process: ${all.map(([role, v]) => `${role} ${v.toFixed(1)}`).join(", ")}; ` +
    `total ${us(all.reduce((sum, [, v]) => sum + v, 0))}`,
);
const r = herald.redis;
console.log(
  `  Redis per message: ${r.calls.toFixed(1)} commands (${r.scripts.toFixed(2)} script calls), ` +
    `${Math.round(r.bytesIn)} B in, ${Math.round(r.bytesOut)} B out`,
);
process.exit(0);
