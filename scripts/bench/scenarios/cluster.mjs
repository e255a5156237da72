// Scaling out on one machine: Herald 2 edges + 2 workers against 1 + 1, targeted through the
// SDK. Both share the same 2 cores (and the load generator), so this shows the cost of the
// extra processes as much as any gain: a real cluster spreads over machines.
import { Fleet } from "../lib/fleet.mjs";
import { measure, warmUpTargeted } from "../lib/measure.mjs";
import { SYSTEMS } from "../lib/systems.mjs";

export default async function cluster({ full, seconds, log }) {
  const rows = [];
  for (const [edges, workers] of [
    [1, 1],
    [2, 2],
  ]) {
    const sys = await SYSTEMS.herald({ edges, workers, via: "sdk" });
    const fleet = await Fleet.start(2);
    try {
      const users = Array.from({ length: 2000 }, (_, i) => `k${i}`);
      await fleet.open({ protocol: "herald", ports: sys.ports, secret: sys.secret }, users);
      await warmUpTargeted(fleet, sys, users);
      for (const rate of full ? [10_000, 25_000, 50_000] : [10_000, 25_000]) {
        const m = await measure(fleet, () => sys.targeted({ users, rate, seconds, size: 200 }), {
          pending: sys.pending,
        });
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
        };
        rows.push(row);
        log(
          `cluster ${edges}+${workers} offered ${rate}/s achieved ${row.achieved}/s lost ${row.lost} p50 ${m.latency.p50} p99 ${m.latency.p99} ms`,
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
