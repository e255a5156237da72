#!/usr/bin/env node
// CPU per delivered message of the edge and the worker (from /proc), at a fixed targeted rate
// below the knee: steadier than achieved rates for before/after comparisons of a hot path.
// Run it on two checkouts, alternating, and compare medians.
// Usage: node scripts/bench/cpu-per-message.mjs [--rate 25000] [--seconds 8] [--users 1000]
import { Fleet } from "./lib/fleet.mjs";
import { measure } from "./lib/measure.mjs";
import { numberOption } from "./lib/options.mjs";
import { processStats, SYSTEMS } from "./lib/systems.mjs";

const sys = await SYSTEMS.herald({ via: "sdk" });
const fleet = await Fleet.start(2);
try {
  const users = Array.from({ length: numberOption("users", 1000) }, (_, i) => `u${i}`);
  await fleet.open({ protocol: "herald", ports: sys.ports, secret: sys.secret }, users);
  const pids = { edge: sys.pids[0], worker: sys.workerPids[0] };
  const before = {};
  for (const [role, pid] of Object.entries(pids)) before[role] = await processStats(pid);
  const m = await measure(fleet, () =>
    sys.targeted({ users, rate: numberOption("rate", 25_000), seconds: numberOption("seconds", 8), size: 200 }),
  );
  const parts = [];
  for (const [role, pid] of Object.entries(pids)) {
    const cpu = (await processStats(pid)).cpuSeconds - before[role].cpuSeconds;
    parts.push(`${role} ${((cpu * 1e6) / m.frames).toFixed(1)} µs/msg`);
  }
  console.log(`${Math.round(m.rate)}/s delivered, lost ${m.accepted - m.frames}: ${parts.join(", ")}`);
} finally {
  await fleet.stop();
  await sys.stop();
}
process.exit(0);
