// Idle connections on one node: RSS per connection, connect rate, CPU at idle (heartbeats on).
import { Fleet } from "../lib/fleet.mjs";
import { processStats, SYSTEMS } from "../lib/systems.mjs";

const CONTENDERS = {
  "raw-uws": () => SYSTEMS["raw-uws"](),
  herald: () => SYSTEMS.herald({ env: { HERALD_HEARTBEAT_SECONDS: "8" } }),
  ws: () => SYSTEMS.ws(),
  socketio: () => SYSTEMS.socketio({ nodes: 1 }),
};

/** This sandbox's open-files hard limit is 20,000 for every process, so one node holds at most ~19,900. */
const MAX_ON_ONE_NODE = 19_900;

export default async function connections({ full, systems, log }) {
  const rows = [];
  for (const n of full ? [10_000, MAX_ON_ONE_NODE] : [10_000]) {
    for (const key of systems) {
      if (!CONTENDERS[key]) continue;
      const sys = await CONTENDERS[key]();
      const fleet = await Fleet.start(2);
      try {
        const pid = sys.pids[0];
        await new Promise((r) => setTimeout(r, 1000));
        const before = await processStats(pid);
        const users = Array.from({ length: n }, (_, i) => `c${i}`);
        const opened = await fleet.open(
          { protocol: sys.protocol, ports: sys.ports, secret: sys.secret, concurrency: 128 },
          users,
        );
        await new Promise((r) => setTimeout(r, 2000));
        const after = await processStats(pid);
        const idleSeconds = full ? 20 : 10;
        await new Promise((r) => setTimeout(r, idleSeconds * 1000));
        const idle = await processStats(pid);
        const row = {
          scenario: "connections",
          system: sys.name.replace(/ \(SDK\)$/, ""),
          key,
          connections: opened.opened,
          failed: opened.failed,
          connectSeconds: opened.ms / 1000,
          connectPerSecond: Math.round(opened.opened / (opened.ms / 1000)),
          rssBytesPerConnection: Math.round((after.rss - before.rss) / Math.max(1, opened.opened)),
          rssMiB: Math.round(after.rss / 2 ** 20),
          idleCpuPercent: Number(((100 * (idle.cpuSeconds - after.cpuSeconds)) / idleSeconds).toFixed(1)),
        };
        rows.push(row);
        log(
          `connections ${String(row.connections).padStart(6)} ${row.system.padEnd(34)} ${row.connectSeconds.toFixed(2)} s to connect (${row.connectPerSecond}/s), ${row.rssBytesPerConnection} B RSS each, idle CPU ${row.idleCpuPercent}%`,
        );
      } catch (err) {
        log(`connections ${n} ${sys.name}: FAILED ${err.message}`);
        rows.push({ scenario: "connections", system: sys.name, key, connections: n, error: err.message });
      } finally {
        await fleet.stop();
        await sys.stop();
      }
    }
  }
  return rows;
}
