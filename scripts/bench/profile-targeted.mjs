#!/usr/bin/env node
// Profiles Herald's targeted path: edge, worker and producer run with --cpu-prof while
// messages go to random users at a fixed rate; then the top functions of each profile.
// Usage: node scripts/bench/profile-targeted.mjs [--rate 10000] [--seconds 5] [--users 1000] [--via sdk|http]
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Fleet } from "./lib/fleet.mjs";
import { measure } from "./lib/measure.mjs";
import { option } from "./lib/options.mjs";
import { SYSTEMS } from "./lib/systems.mjs";

const dir = mkdtempSync(join(tmpdir(), "herald-prof-"));
const sys = await SYSTEMS.herald({
  via: option("via", "sdk"),
  nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
  edgeNodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
  graceful: true,
});
const fleet = await Fleet.start(2);
const users = Array.from({ length: Number(option("users", 1000)) }, (_, i) => `u${i}`);
await fleet.open({ protocol: "herald", ports: sys.ports, secret: sys.secret }, users);
const m = await measure(fleet, () =>
  sys.targeted({ users, rate: Number(option("rate", 10000)), seconds: Number(option("seconds", 5)), size: 200 }),
);
console.log(
  `achieved ${Math.round(m.rate)}/s, lost ${m.accepted - m.frames}, p50 ${m.latency.p50} ms, p99 ${m.latency.p99} ms`,
);
await fleet.stop();
await sys.stop();

for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
  const prof = JSON.parse(readFileSync(join(dir, file), "utf8"));
  const self = new Map();
  const dt = prof.timeDeltas;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  prof.samples.forEach((id, i) => {
    const n = byId.get(id);
    const key = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(option("top", 14)));
  console.log(`\n${file} (${(total / 1e6).toFixed(1)} s sampled)`);
  for (const [k, v] of top) console.log(`  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}
console.log(`\nprofiles in ${dir}`);
process.exit(0);
