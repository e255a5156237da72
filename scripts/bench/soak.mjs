// Soak: minutes of targeted traffic at about half of Herald's saturation rate while connections
// churn, sampling each process's RSS and JS heap; the slope after warm-up says whether anything
// grows without bound.
//   npm run bench -- --soak                  5 minutes
//   npm run bench -- --soak --minutes 20
import { setTimeout as sleep } from "node:timers/promises";
import { Fleet } from "./lib/fleet.mjs";
import { processStats, SYSTEMS } from "./lib/systems.mjs";

const USERS = 2000;
/** About half of what one edge and one worker deliver at saturation on a 2-core machine (docs/performance.md). */
const RATE = 20_000;
const SAMPLE_MS = 5000;
/** Connections closed and reopened per sample, per load-generator process. */
const CHURN = 50;

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** The lowest value of each whole minute of samples. */
function floors(samples, key) {
  const byMinute = new Map();
  for (const s of samples) {
    const m = Math.floor(s.at);
    const low = byMinute.get(m);
    if (!low || s[key] < low.value) byMinute.set(m, { at: m + 0.5, value: s[key] });
  }
  return [...byMinute.values()];
}

async function heapUsed(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^nodejs_heap_size_used_bytes\{[^}]*\} (\S+)/m.exec(text)?.[1] ?? 0);
}

export default async function soak({ minutes = 5, log }) {
  const sys = await SYSTEMS.herald({ via: "sdk" });
  const fleet = await Fleet.start(2);
  const procs = [
    { name: "edge", pid: sys.pids[0], port: sys.ports[0] },
    { name: "worker", pid: sys.workerPids[0], port: sys.workerPorts[0] },
  ];
  const samples = Object.fromEntries(procs.map((p) => [p.name, []]));
  try {
    const ids = Array.from({ length: USERS }, (_, i) => `u${i}`);
    await fleet.open({ protocol: sys.protocol, ports: sys.ports, secret: sys.secret }, ids);
    const started = Date.now();
    const end = started + minutes * 60_000;
    log(
      `soak: ${minutes} min at ${RATE}/s to ${USERS} users, ${CHURN * 2} connections churned every ${SAMPLE_MS / 1000} s`,
    );
    const traffic = (async () => {
      while (Date.now() < end) await sys.targeted({ users: ids, rate: RATE, seconds: 10, size: 200 });
    })();
    while (Date.now() < end) {
      await sleep(SAMPLE_MS);
      await fleet.churn(CHURN);
      const at = (Date.now() - started) / 60_000;
      for (const p of procs) {
        const { rss } = await processStats(p.pid);
        samples[p.name].push({ at, rss, heap: await heapUsed(p.port) });
      }
      const e = samples.edge.at(-1);
      const w = samples.worker.at(-1);
      log(
        `soak ${at.toFixed(1)} min: edge RSS ${(e.rss / 2 ** 20).toFixed(0)} MiB heap ${(e.heap / 2 ** 20).toFixed(0)} MiB, worker RSS ${(w.rss / 2 ** 20).toFixed(0)} MiB heap ${(w.heap / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    await traffic;
    const { frames } = await fleet.report();
    log(`soak: ${frames} messages delivered, ${Math.round(frames / (minutes * 60))}/s on average`);
  } finally {
    await fleet.stop();
    await sys.stop();
  }
  // Warm-up: the first fifth of the run (pools, JIT, the young generation) is left out of the slope.
  // The heap saws up and down with every collection: its floor per minute is what would grow.
  const rows = procs.map((p) => {
    const steady = samples[p.name].slice(Math.floor(samples[p.name].length / 5));
    return {
      scenario: "soak",
      process: p.name,
      minutes,
      rssSlopeMiBPerMin: slope(steady.map((s) => ({ x: s.at, y: s.rss / 2 ** 20 }))),
      heapFloorSlopeMiBPerMin: slope(floors(steady, "heap").map((f) => ({ x: f.at, y: f.value / 2 ** 20 }))),
      rssEndMiB: (steady.at(-1)?.rss ?? 0) / 2 ** 20,
    };
  });
  for (const r of rows) {
    log(
      `soak ${r.process}: RSS ${r.rssEndMiB.toFixed(0)} MiB at the end; slope after warm-up: RSS ${r.rssSlopeMiBPerMin.toFixed(2)} MiB/min, heap floor ${r.heapFloorSlopeMiBPerMin.toFixed(2)} MiB/min`,
    );
  }
  return rows;
}
