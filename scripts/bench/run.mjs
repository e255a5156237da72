#!/usr/bin/env node
// Herald's benchmark suite: Herald and its peers side by side, in the same run, on this machine.
//   npm run bench                 quick (a few minutes): fewer sizes and rates, 3 s per point
//   npm run bench -- --full       every scenario at every size, 10 s per point
//   npm run bench -- --only targeted,broadcast   --no-peers   --smoke   --no-write (results printed only)
//   npm run bench -- --soak [--minutes N]   minutes of traffic with churning connections: RSS and heap slopes
// Prints a table per scenario; writes docs/bench/<quick|full>.json and an SVG chart per scenario.
import { existsSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { markdownTable, writeResults } from "./lib/report.mjs";
import { stopDescendantsOnExit } from "./lib/stop-descendants.mjs";
import { installPeers } from "./peers/install.mjs";

stopDescendantsOnExit();

const args = process.argv.slice(2);
if (args.includes("--soak")) {
  const { default: soak } = await import("./soak.mjs");
  const at = args.indexOf("--minutes");
  const minutes = at >= 0 ? Number(args[at + 1]) : 5;
  await soak({ minutes, log: (line) => console.log(line) });
  process.exit(0);
}
const full = args.includes("--full");
const smoke = args.includes("--smoke");
const noPeers = args.includes("--no-peers") || smoke;
const onlyAt = args.indexOf("--only");
const only =
  args
    .find((a) => a.startsWith("--only="))
    ?.slice(7)
    .split(",") ?? (onlyAt >= 0 ? args[onlyAt + 1]?.split(",") : undefined);
const mode = smoke ? "smoke" : full ? "full" : "quick";
const seconds = smoke ? 1 : full ? 10 : 3;

const PEERS = ["ws", "socketio", "soketi"];
const plan = {
  broadcast: ["raw-uws", "herald", "ws", "socketio", "soketi"],
  targeted: [
    "raw-uws",
    "herald-sdk",
    "herald-sdk-no-history",
    "herald-http",
    "herald-all-http",
    "herald-1-per-job",
    "socketio",
  ],
  priority: ["herald"],
  connections: ["raw-uws", "herald", "ws", "socketio"],
  cluster: ["herald"],
  reconnect: ["herald"],
};
if (smoke) {
  // CI: seconds, not minutes; enough to catch a path that became 10x slower.
  for (const k of Object.keys(plan)) if (k !== "targeted") delete plan[k];
  plan.targeted = ["raw-uws", "herald-sdk"];
}
const log = (line) => console.log(line);
const started = Date.now();
log(
  `herald bench (${mode}): ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
);
if (!noPeers && Object.values(plan).some((s) => s.some((k) => PEERS.includes(k)))) await installPeers(log);
const peersReady = existsSync(new URL("../../.bench-peers/node_modules/socket.io", import.meta.url));

const results = {};
for (const [scenario, systems] of Object.entries(plan)) {
  if (only && !only.includes(scenario)) continue;
  const usable = systems.filter((s) => !PEERS.includes(s) || (!noPeers && peersReady));
  log(`\n== ${scenario}: ${usable.join(", ")}`);
  const { default: run } = await import(`./scenarios/${scenario}.mjs`);
  const opts = smoke ? { userCounts: [500], rates: [5000] } : {};
  results[scenario] = await run({ full, seconds, systems: usable, log, ...opts });
  log(`\n${markdownTable(scenario, results[scenario])}`);
}

const meta = {
  mode,
  date: new Date().toISOString(),
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  node: process.version,
  seconds,
};
if (!smoke && !args.includes("--no-write")) {
  const dir = new URL("../../docs/bench", import.meta.url).pathname;
  writeResults(dir, mode, meta, results);
  log(`\nwrote docs/bench/${mode}.json and charts`);
}
log(`done in ${Math.round((Date.now() - started) / 1000)} s`);

if (smoke) {
  // The smoke's one check: Herald's path is not 10x slower than raw uWS measured in the same run.
  const rows = results.targeted ?? [];
  const raw = rows.find((r) => r.key === "raw-uws" && !r.error);
  const herald = rows.find((r) => r.key === "herald-sdk" && !r.error);
  const ratio = raw && herald ? raw.achieved / Math.max(1, herald.achieved) : Number.POSITIVE_INFINITY;
  log(
    `smoke: raw uWS ${raw?.achieved}/s, Herald SDK ${herald?.achieved}/s at 5,000/s offered: ratio ${ratio.toFixed(2)} (fails at 10)`,
  );
  process.exit(ratio < 10 && herald?.lost === 0 ? 0 : 1);
}
process.exit(0);
