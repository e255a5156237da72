// Scaling out on one machine: Herald with 1, 2 and 3 edges and 1 and 2 workers, targeted
// through the SDK to 2,000 users, and each role's CPU share (cores, from /proc) at each point.
// Every process shares the same 2 cores with the load generator, so this shows the cost of the
// extra processes as much as any gain: a real cluster spreads over machines.
import { Fleet } from "../lib/fleet.mjs";
import { measure, warmUpTargeted } from "../lib/measure.mjs";
import { processStats, SYSTEMS } from "../lib/systems.mjs";

const SHAPES = [
  [1, 1],
  [2, 1],
  [3, 1],
  [1, 2],
  [2, 2],
  [3, 2],
];

/** CPU seconds so far per role, summed over the role's processes. */
async function cpuByRole(sys) {
  const roles = { edges: sys.pids, workers: sys.workerPids, redis: [sys.redisPid], producer: [sys.producerPid] };
  const out = {};
  for (const [role, pids] of Object.entries(roles)) {
    out[role] = 0;
    for (const pid of pids) out[role] += (await processStats(pid)).cpuSeconds;
  }
  return out;
}

export default async function cluster({ full, seconds, log }) {
  const rows = [];
  for (const [edges, workers] of SHAPES) {
    const sys = await SYSTEMS.herald({ edges, workers, via: "sdk" });
    const fleet = await Fleet.start(2);
    try {
      const users = Array.from({ length: 2000 }, (_, i) => `k${i}`);
      await fleet.open({ protocol: "herald", ports: sys.ports, secret: sys.secret }, users);
      await warmUpTargeted(fleet, sys, users);
      for (const rate of full ? [10_000, 25_000, 50_000] : [10_000, 25_000]) {
        const before = await cpuByRole(sys);
        const m = await measure(fleet, () => sys.targeted({ users, rate, seconds, size: 200 }), {
          pending: sys.pending,
        });
        const after = await cpuByRole(sys);
        const cores = Object.fromEntries(
          Object.keys(after).map((k) => [k, Math.round(((after[k] - before[k]) / m.seconds) * 100) / 100]),
        );
        const row = {
          scenario: "cluster",
          system: sys.name,
          key: `herald-${edges}+${workers}`,
          edges,
          workers,
          offered: rate,
          achieved: Math.round(m.rate),
          lost: m.settled ? Math.max(0, m.accepted - m.frames) : null,
          latency: m.latency,
          cores,
        };
        rows.push(row);
        log(
          `cluster ${edges}+${workers} offered ${rate}/s achieved ${row.achieved}/s lost ${row.lost} p50 ${m.latency.p50} p99 ${m.latency.p99} ms; cores: ${Object.entries(
            cores,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}`,
        );
        if (m.rate < 0.7 * rate) break;
      }
    } finally {
      await fleet.stop();
      await sys.stop();
    }
  }
  return rows;
}
