// One measurement: reset the load generator, drive the system, wait until frames stop
// arriving, and report delivered frames per second and latency percentiles.
import { percentiles } from "./fleet.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `pending` (optional) reads how many accepted messages the system still holds (Herald: its
 * queues); a point is settled only when frames have stopped *and* nothing is pending, so a
 * stall under overload is not mistaken for the end, and what is then missing is really lost.
 */
export async function measure(fleet, drive, { settleMs = 1500, maxWaitMs = 120_000, pending } = {}) {
  await fleet.reset();
  const start = performance.now();
  const accepted = await drive();
  const driven = performance.now();
  let last = -1;
  let lastChange = performance.now();
  const deadline = driven + maxWaitMs;
  // Wait while frames still arrive (a backlog draining is not a loss), up to maxWaitMs.
  let settled = false;
  for (;;) {
    const frames = await fleet.count();
    const now = performance.now();
    if (frames !== last) {
      last = frames;
      lastChange = now;
    } else if (now - lastChange > settleMs && (!pending || (await pending()) === 0)) {
      settled = true;
      break;
    }
    if (now > deadline) break;
    await sleep(100);
  }
  const report = await fleet.report();
  const seconds = Math.max(driven, lastChange) - start;
  return {
    accepted,
    /** False when frames were still arriving at the cut-off: undelivered messages are a backlog, not a loss. */
    settled,
    frames: report.frames,
    seconds: seconds / 1000,
    rate: report.frames / (seconds / 1000),
    latency: percentiles(report.hist),
    critical: percentiles(report.critical),
  };
}

/**
 * Targeted messages before a system's first measured point, not measured: the first seconds
 * after start carry JIT compilation and heap growth, which a gateway pays once, not at
 * every rate. Every contender gets the same. Measured (first 10 s round at 10,000/s, Herald
 * through the SDK): after 0.5 s at 1,000/s, p99 16–26 ms to 1,000 users (three runs) and
 * 23–29 ms to 10,000 (two); after 2 s at 5,000/s, 11–13 and 17–21 ms.
 */
export function warmUpTargeted(fleet, sys, users) {
  return measure(fleet, () => sys.targeted({ users, rate: 5000, seconds: 2, size: 200 }));
}
