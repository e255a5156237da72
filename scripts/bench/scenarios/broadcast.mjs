// Broadcast fan-out: N subscribers on one channel; delivered frames/s at the highest rate
// each system sustains, then latency at half of that rate.
import { Fleet } from "../lib/fleet.mjs";
import { measure } from "../lib/measure.mjs";
import { SYSTEMS } from "../lib/systems.mjs";

const TOPIC = "bench-1";

/**
 * How hard to push: in-process publishers as fast as they can; Herald's producer offers 4M
 * deliveries/s (more than raw uWS delivers here: at 2M, the offer itself capped Herald).
 */
const maxRate = (key, subs) => (key === "herald" ? Math.ceil(4_000_000 / subs) : 0);

export default async function broadcast({ full, seconds, systems, log }) {
  const rows = [];
  for (const subs of full ? [1000, 5000] : [1000]) {
    for (const key of systems) {
      if (!SYSTEMS[key]) continue;
      const sys = await SYSTEMS[key]();
      const fleet = await Fleet.start(2);
      try {
        const users = Array.from({ length: subs }, (_, i) => `b${i}`);
        const opened = await fleet.open(
          { protocol: sys.protocol, ports: sys.ports, subscribe: TOPIC, secret: sys.secret, appKey: sys.appKey },
          users,
        );
        if (opened.opened < subs) throw new Error(`only ${opened.opened} of ${subs} subscribers connected`);
        await measure(fleet, () => sys.broadcast({ topic: TOPIC, rate: 20, seconds: 0.5, size: 200 })); // warm-up
        const max = await measure(fleet, () =>
          sys.broadcast({ topic: TOPIC, rate: maxRate(key, subs), seconds, size: 200 }),
        );
        const halfRate = Math.max(1, Math.floor((0.5 * max.rate) / subs));
        const half = await measure(fleet, () => sys.broadcast({ topic: TOPIC, rate: halfRate, seconds, size: 200 }));
        const row = {
          scenario: "broadcast",
          system: sys.name,
          key,
          subscribers: subs,
          maxDelivered: Math.round(max.rate),
          maxLatency: max.latency,
          halfRateMessages: halfRate,
          halfDelivered: Math.round(half.rate),
          halfLatency: half.latency,
          halfLoss: Math.max(0, half.accepted * subs - half.frames),
        };
        log(
          `broadcast ${subs} subs  ${sys.name.padEnd(34)} max ${row.maxDelivered.toLocaleString().padStart(10)}/s   at 50%: p50 ${half.latency.p50} ms p99 ${half.latency.p99} ms`,
        );
        rows.push(row);
      } catch (err) {
        log(`broadcast ${subs} subs  ${sys.name}: FAILED ${err.message}`);
        rows.push({ scenario: "broadcast", system: sys.name, key, subscribers: subs, error: err.message });
      } finally {
        await fleet.stop();
        await sys.stop();
      }
    }
  }
  return rows;
}
