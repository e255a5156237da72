// Other work on a shared machine: CPU used by processes outside this run's own process tree
// (from /proc), so a measurement can wait for a quiet machine and report what else ran.
import { readdirSync, readFileSync } from "node:fs";

const TICKS = 100; // clock ticks per second (USER_HZ)

/** CPU seconds the whole machine spent busy (user, nice, system, irq, softirq). */
function machineBusy() {
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6]) / TICKS;
}

/** CPU seconds of this process and its live descendants. */
function ownBusy() {
  const procs = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const rest = readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1].split(" ");
      procs.set(Number(name), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
    } catch {
      // exited meanwhile
    }
  }
  const children = new Map();
  for (const [pid, p] of procs) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  let ticks = 0;
  const stack = [process.pid];
  while (stack.length) {
    const pid = stack.pop();
    ticks += procs.get(pid)?.ticks ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks / TICKS;
}

/** CPU seconds used so far by processes outside this run (a difference of two readings is what they used meanwhile). */
export function otherBusy() {
  return machineBusy() - ownBusy();
}

/** Starts a meter; calling it gives the cores' worth of CPU other processes used since. */
export function otherLoad() {
  const t0 = performance.now();
  const m0 = machineBusy();
  const o0 = ownBusy();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const other = machineBusy() - m0 - (ownBusy() - o0);
    return Math.max(0, other / seconds);
  };
}

/**
 * Waits until other processes use under `maxCores` of CPU over `windowMs` (at most
 * `timeoutMs`); resolves with the last reading (cores) and how long it waited.
 */
export async function waitQuiet({ maxCores = 0.15, windowMs = 2000, timeoutMs = 120_000 } = {}) {
  const started = Date.now();
  for (;;) {
    const read = otherLoad();
    await new Promise((r) => setTimeout(r, windowMs));
    const cores = read();
    if (cores < maxCores || Date.now() - started > timeoutMs) return { cores, waitedMs: Date.now() - started };
  }
}
