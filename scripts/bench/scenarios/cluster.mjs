// Scaling out on one machine: Herald with 1, 2 and 3 edges and 1 and 2 workers, targeted
// through the SDK to 2,000 users, and each role's CPU share (cores, from /proc) at each point;
// and the single pair on a private 3-master Redis Cluster beside the same pair on one Redis,
// with each Redis server's CPU per message. Every process shares the same 2 cores with the
// load generator, so this shows the cost of the extra processes as much as any gain: a real
// cluster spreads over machines.
import { Fleet } from "../lib/fleet.mjs";
import { measure, warmUpTargeted } from "../lib/measure.mjs";
import { processStats, SYSTEMS } from "../lib/systems.mjs";

const SHAPES = [
  { edges: 1, workers: 1 },
  { edges: 1, workers: 1, redisCluster: true },
  { edges: 2, workers: 1 },
  { edges: 3, workers: 1 },
  { edges: 1, workers: 2 },
  { edges: 2, workers: 2 },
  { edges: 3, workers: 2 },
];

/** CPU seconds so far per role, summed over the role's processes, and per Redis server. */
async function cpuByRole(sys) {
  const roles = { edges: sys.pids, workers: sys.workerPids, redis: sys.redisPids, producer: [sys.producerPid] };
  const out = { shards: [] };
  for (const [role, pids] of Object.entries(roles)) {
    out[role] = 0;
    for (const pid of pids) {
      const { cpuSeconds } = await processStats(pid);
      out[role] += cpuSeconds;
      if (role === "redis") out.shards.push(cpuSeconds);
    }
  }
  return out;
}

const round2 = (x) => Math.round(x * 100) / 100;

/** One point's row: rate, loss, latency, each role's cores and each Redis server's CPU µs per message. */
function pointRow(sys, shape, rate, m, before, after) {
  const roles = ["edges", "workers", "redis", "producer"];
  const cores = Object.fromEntries(roles.map((k) => [k, round2((after[k] - before[k]) / m.seconds)]));
  const redisUsPerMessage = after.shards.map((s, i) => Math.round(((s - before.shards[i]) * 1e7) / m.frames) / 10);
  return {
    scenario: "cluster",
    system: sys.name,
    key: `herald-${shape.edges}+${shape.workers}${shape.redisCluster ? "-redis-cluster" : ""}`,
    edges: shape.edges,
    workers: shape.workers,
    redis: shape.redisCluster ? "3-master cluster" : "standalone",
    offered: rate,
    achieved: Math.round(m.rate),
    lost: m.settled ? Math.max(0, m.accepted - m.frames) : null,
    latency: m.latency,
    cores,
    redisUsPerMessage,
  };
}

/** The Redis Cluster pair against the standalone pair, rate by rate, in this run. */
function clusterRatios(rows, log) {
  const pair = (redis) => rows.filter((r) => r.edges === 1 && r.workers === 1 && r.redis === redis);
  for (const c of pair("3-master cluster")) {
    const s = pair("standalone").find((r) => r.offered === c.offered);
    if (!s) continue;
    log(
      `cluster: Redis Cluster / standalone at ${c.offered}/s offered: achieved ${(c.achieved / s.achieved).toFixed(2)}, p99 ${c.latency.p99} vs ${s.latency.p99} ms; Redis µs per message ${c.redisUsPerMessage.join(" + ")} vs ${s.redisUsPerMessage.join("")}`,
    );
  }
}

export default async function cluster({ full, seconds, log }) {
  const rows = [];
  for (const shape of SHAPES) {
    const sys = await SYSTEMS.herald({ ...shape, via: "sdk" });
    const fleet = await Fleet.start(2);
    try {
      const users = Array.from({ length: 2000 }, (_, i) => `k${i}`);
      await fleet.open({ protocol: "herald", ports: sys.ports, secret: sys.secret }, users);
      await warmUpTargeted(fleet, sys, users);
      // The two single pairs are also driven past saturation: the Redis Cluster's cost shows there.
      const pair = shape.edges === 1 && shape.workers === 1;
      for (const rate of full || pair ? [10_000, 25_000, 50_000] : [10_000, 25_000]) {
        const before = await cpuByRole(sys);
        const m = await measure(fleet, () => sys.targeted({ users, rate, seconds, size: 200 }), {
          pending: sys.pending,
        });
        const row = pointRow(sys, shape, rate, m, before, await cpuByRole(sys));
        rows.push(row);
        log(
          `cluster ${row.key} offered ${rate}/s achieved ${row.achieved}/s lost ${row.lost} p50 ${m.latency.p50} p99 ${m.latency.p99} ms; cores: ${Object.entries(
            row.cores,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}; Redis µs/msg ${row.redisUsPerMessage.join(" + ")}`,
        );
        if (m.rate < 0.7 * rate) break;
      }
    } finally {
      await fleet.stop();
      await sys.stop();
    }
  }
  clusterRatios(rows, log);
  return rows;
}
