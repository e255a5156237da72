// Targeted delivery: U users, one connection each; messages to random users at offered
// rates; achieved rate, loss and latency from acceptance to receipt.
import { Fleet } from "../lib/fleet.mjs";
import { measure, warmUpTargeted } from "../lib/measure.mjs";
import { SYSTEMS } from "../lib/systems.mjs";

/** The contenders: Herald through the SDK and the HTTP API, Herald with one job per message, and the peers. */
export const TARGETED = {
  "raw-uws": () => SYSTEMS["raw-uws"](),
  "herald-sdk": () => SYSTEMS.herald({ via: "sdk" }),
  "herald-http": () => SYSTEMS.herald({ via: "http" }),
  "herald-1-per-job": () => SYSTEMS.herald({ via: "sdk", batch: 1, env: { HERALD_BATCH_SIZE: "1" } }),
  socketio: () => SYSTEMS.socketio({ nodes: 2 }),
};

export default async function targeted({ full, seconds, systems, log, userCounts, rates }) {
  const rows = [];
  for (const users of userCounts ?? (full ? [1000, 10_000] : [1000])) {
    for (const key of systems) {
      if (!TARGETED[key]) continue;
      const sys = await TARGETED[key]();
      const fleet = await Fleet.start(2);
      try {
        const ids = Array.from({ length: users }, (_, i) => `u${i}`);
        const opened = await fleet.open({ protocol: sys.protocol, ports: sys.ports, secret: sys.secret }, ids);
        if (opened.opened < users) throw new Error(`only ${opened.opened} of ${users} users connected`);
        await warmUpTargeted(fleet, sys, ids);
        for (const rate of rates ?? (full ? [10_000, 25_000, 50_000, 100_000] : [10_000, 50_000])) {
          const m = await measure(fleet, () => sys.targeted({ users: ids, rate, seconds, size: 200 }), {
            pending: sys.pending,
          });
          const row = {
            scenario: "targeted",
            system: sys.name,
            key,
            users,
            offered: rate,
            accepted: m.accepted,
            delivered: m.frames,
            achieved: Math.round(m.rate),
            lost: m.settled ? Math.max(0, m.accepted - m.frames) : null,
            stillQueued: m.settled ? 0 : Math.max(0, m.accepted - m.frames),
            latency: m.latency,
          };
          rows.push(row);
          log(
            `targeted ${users} users ${sys.name.padEnd(36)} offered ${String(rate).padStart(6)}/s achieved ${String(row.achieved).padStart(6)}/s ${row.lost === null ? `still queued ${row.stillQueued}` : `lost ${row.lost}`} p50 ${m.latency.p50} p99 ${m.latency.p99} ms`,
          );
          // Past saturation, a higher offer only measures a backlog: stop this system here.
          if (m.rate < 0.7 * rate) break;
        }
      } catch (err) {
        log(`targeted ${users} users ${sys.name}: FAILED ${err.message}`);
        rows.push({ scenario: "targeted", system: sys.name, key, users, error: err.message });
      } finally {
        await fleet.stop();
        await sys.stop();
      }
    }
  }
  return rows;
}
