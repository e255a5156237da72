// Targeted delivery: U users, one connection each; messages to random users at offered
// rates; achieved rate, loss and latency from acceptance to receipt.
import { Fleet } from "../lib/fleet.mjs";
import { measure, warmUpTargeted } from "../lib/measure.mjs";
import { SYSTEMS } from "../lib/systems.mjs";

/**
 * The contenders: Herald through the SDK (history on, the default, and off everywhere: what
 * history costs), the HTTP API, `herald all` (one command, its supervisor's edge and worker
 * processes) over HTTP, Herald with one job per message, and the peers.
 */
export const TARGETED = {
  "raw-uws": () => SYSTEMS["raw-uws"](),
  "herald-sdk": () => SYSTEMS.herald({ via: "sdk" }),
  "herald-sdk-no-history": () => SYSTEMS.herald({ via: "sdk", env: { HERALD_HISTORY: "* 0" }, label: "history off" }),
  "herald-http": () => SYSTEMS.herald({ via: "http" }),
  "herald-all-http": () => SYSTEMS.heraldAll({ via: "http" }),
  "herald-1-per-job": () => SYSTEMS.herald({ via: "sdk", batch: 1, env: { HERALD_BATCH_SIZE: "1" } }),
  socketio: () => SYSTEMS.socketio({ nodes: 2 }),
};

/**
 * `probe(sys)` (optional) returns CPU seconds per process: each row then gets `cpuUs`, CPU µs
 * per delivered message per process over its point (scripts/bench/history-cost.mjs);
 * `everyRate` measures every rate even past saturation (a same-rate comparison); `gate()` is
 * awaited before each point, and a point is measured again (up to 3 times in all) while
 * `retry(before, after, m)` gives a reason.
 */
export default async function targeted({
  full,
  seconds,
  systems,
  log,
  userCounts,
  rates,
  probe,
  everyRate,
  gate,
  retry,
}) {
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
        for (const rate of rates ?? (full ? [10_000, 25_000, 50_000, 100_000] : [10_000, 25_000, 50_000])) {
          let m;
          let before;
          let after;
          for (let attempt = 1; ; attempt++) {
            await gate?.();
            before = probe && (await probe(sys));
            m = await measure(fleet, () => sys.targeted({ users: ids, rate, seconds, size: 200 }), {
              pending: sys.pending,
            });
            after = probe && (await probe(sys));
            const again = attempt < 3 && retry?.(before, after, m);
            if (!again) break;
            log(`targeted ${users} users ${sys.name}: measuring ${rate}/s again (${again})`);
          }
          const row = {
            scenario: "targeted",
            system: sys.name,
            key,
            users,
            offered: rate,
            accepted: m.accepted,
            delivered: m.frames,
            achieved: Math.round(m.rate),
            seconds: m.seconds,
            lost: m.settled ? Math.max(0, m.accepted - m.frames) : null,
            stillQueued: m.settled ? 0 : Math.max(0, m.accepted - m.frames),
            latency: m.latency,
          };
          if (probe) {
            row.cpuUs = Object.fromEntries(
              Object.keys(after).map((k) => [k, Math.round(((after[k] - before[k]) * 1e7) / m.frames) / 10]),
            );
          }
          rows.push(row);
          log(
            `targeted ${users} users ${sys.name.padEnd(36)} offered ${String(rate).padStart(6)}/s achieved ${String(row.achieved).padStart(6)}/s ${row.lost === null ? `still queued ${row.stillQueued}` : `lost ${row.lost}`} p50 ${m.latency.p50} p99 ${m.latency.p99} ms`,
          );
          // Past saturation, a higher offer only measures a backlog: stop this system here.
          if (m.rate < 0.7 * rate && !everyRate) break;
        }
      } catch (err) {
        log(`targeted ${users} users ${sys.name}: FAILED ${err.message}`);
        rows.push({ scenario: "targeted", system: sys.name, key, users, error: err.message });
      } finally {
        await fleet.stop();
        await sys.stop();
      }
    }
    logHistoryCost(rows, users, log);
  }
  return rows;
}

/** History's cost in the same run: Herald's SDK path with history on (the default) against off, rate by rate. */
export function historyCost(rows, users) {
  const of = (key) => rows.filter((r) => r.key === key && r.users === users && !r.error);
  const off = of("herald-sdk-no-history");
  return of("herald-sdk")
    .map((on) => ({ on, off: off.find((r) => r.offered === on.offered) }))
    .filter((p) => p.off)
    .map(({ on, off }) => ({
      offered: on.offered,
      on: on.achieved,
      off: off.achieved,
      ratio: on.achieved / off.achieved,
    }));
}

function logHistoryCost(rows, users, log) {
  for (const c of historyCost(rows, users)) {
    log(
      `targeted ${users} users history on/off at ${c.offered}/s offered: ${c.on}/s vs ${c.off}/s, ratio ${c.ratio.toFixed(2)} (cost ${Math.round((1 - c.ratio) * 100)}%)`,
    );
  }
}
