#!/usr/bin/env node
// What history costs on the targeted path: Herald through the SDK with history on (the
// defaults: user channels 20/1h, other channels 200/1h) and off everywhere
// (HERALD_HISTORY="* 0"), measured by the targeted scenario in the same run, in alternating
// order, `rounds` times; prints every round, then the medians and the on/off ratios, and the
// CPU µs per delivered message of each process on the path (from /proc).
// The machine may be shared: each point starts once other processes are quiet, records the
// CPU they used meanwhile, and is measured again (up to 3 times) when that passed --max-other
// cores; only rounds in which every point stayed under it count, and rounds go on until
// --rounds clean ones (at most 3x as many in all).
//   node scripts/bench/history-cost.mjs [--rounds 5] [--users 1000] [--rates 10000,40000] [--seconds 3] [--max-other 0.3]
import { numberOption, option } from "./lib/options.mjs";
import { otherBusy, waitQuiet } from "./lib/quiet.mjs";
import { stopDescendantsOnExit } from "./lib/stop-descendants.mjs";
import { processStats } from "./lib/systems.mjs";
import targeted, { historyCost } from "./scenarios/targeted.mjs";

stopDescendantsOnExit();
const rounds = numberOption("rounds", 5);
const users = numberOption("users", 1000);
const seconds = numberOption("seconds", 3);
const rates = option("rates", "10000,40000").split(",").map(Number);
const maxOther = numberOption("max-other", 0.3);
const log = (line) => console.log(line);
/** CPU seconds so far of each process on Herald's path. */
async function probe(sys) {
  const pids = { edge: sys.pids[0], worker: sys.workerPids[0], redis: sys.redisPids[0], producer: sys.producerPid };
  const out = {};
  for (const [role, pid] of Object.entries(pids)) out[role] = (await processStats(pid)).cpuSeconds;
  out.other = otherBusy(); // processes outside this run: the shared machine's other work
  return out;
}
const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

log(`history cost: ${rounds} rounds, ${users} users, ${rates.join(" and ")}/s offered, ${seconds} s a point`);
const all = [];
/** Every round's rows, clean or not: CPU time per message moves much less with other work than rates do. */
const everything = [];
const ratios = [];
let clean = 0;
for (let r = 0; clean < rounds && r < 3 * rounds; r++) {
  const systems = r % 2 === 0 ? ["herald-sdk", "herald-sdk-no-history"] : ["herald-sdk-no-history", "herald-sdk"];
  log(`\n-- round ${r + 1}: ${systems.join(", ")}`);
  const gate = () => waitQuiet({ timeoutMs: 60_000 });
  const retry = (before, after, m) => {
    const cores = (after.other - before.other) / m.seconds;
    return cores > maxOther ? `other work used ${cores.toFixed(2)} cores` : false;
  };
  const rows = await targeted({
    seconds,
    systems,
    log,
    userCounts: [users],
    rates,
    probe,
    everyRate: true,
    gate,
    retry,
  });
  for (const row of rows) {
    if (row.cpuUs) {
      row.otherCores = (row.cpuUs.other * row.delivered) / 1e6 / row.seconds;
      log(
        `  ${row.key} ${row.offered}/s: CPU µs per message ${JSON.stringify(row.cpuUs)}; other work ${row.otherCores.toFixed(2)} cores`,
      );
    }
  }
  everything.push(...rows);
  const busiest = Math.max(...rows.map((row) => row.otherCores ?? Number.POSITIVE_INFINITY));
  if (busiest > maxOther) {
    log(`  round ${r + 1} left out: other work reached ${busiest.toFixed(2)} cores during a point`);
    continue;
  }
  clean++;
  all.push(...rows);
  ratios.push(...historyCost(rows, users));
}

log(`\nmedians of ${clean} clean rounds (${users} users, targeted through the SDK):`);
log(
  "| history | offered/s | achieved/s | p50 ms | p99 ms | lost | CPU µs/msg edge / worker / Redis / producer | other work, cores (max) |",
);
log("|---|---|---|---|---|---|---|---|");
for (const key of ["herald-sdk", "herald-sdk-no-history"]) {
  for (const rate of rates) {
    const rows = all.filter((x) => x.key === key && x.offered === rate && !x.error);
    if (!rows.length) continue;
    log(
      `| ${key === "herald-sdk" ? "on (defaults)" : 'off ("* 0")'} | ${rate} | ${median(rows.map((x) => x.achieved))} | ${median(rows.map((x) => x.latency.p50))} | ${median(rows.map((x) => x.latency.p99))} | ${rows.map((x) => x.lost ?? `unsettled ${x.stillQueued}`).join(", ")} | ${["edge", "worker", "redis", "producer"].map((k) => median(rows.map((x) => x.cpuUs?.[k]))).join(" / ")} | ${Math.max(...rows.map((x) => x.otherCores ?? 0)).toFixed(2)} |`,
    );
  }
}
const sum = (x) => ["edge", "worker", "redis", "producer"].reduce((t, k) => t + x.cpuUs[k], 0);
log(`\nCPU µs per delivered message, medians over all ${everything.length / (2 * rates.length)} rounds, clean or not:`);
log("| history | offered/s | edge | worker | Redis | producer | sum |");
log("|---|---|---|---|---|---|---|");
for (const key of ["herald-sdk", "herald-sdk-no-history"]) {
  for (const rate of rates) {
    const rows = everything.filter((x) => x.key === key && x.offered === rate && x.cpuUs);
    if (!rows.length) continue;
    const cells = ["edge", "worker", "redis", "producer"].map((k) => median(rows.map((x) => x.cpuUs[k])));
    log(
      `| ${key === "herald-sdk" ? "on" : "off"} | ${rate} | ${cells.join(" | ")} | ${median(rows.map(sum)).toFixed(1)} |`,
    );
  }
}
for (const rate of rates) {
  const rs = ratios.filter((c) => c.offered === rate);
  if (!rs.length) continue;
  log(
    `on/off at ${rate}/s offered: median ratio ${median(rs.map((c) => c.ratio)).toFixed(3)} (rounds: ${rs.map((c) => c.ratio.toFixed(2)).join(", ")})`,
  );
}
process.exit(0);
