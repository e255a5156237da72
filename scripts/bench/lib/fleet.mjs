// Parent side of the load generator: several client-fleet processes, their results merged.
import { fork } from "node:child_process";
import * as hdr from "hdr-histogram-js";

const FLEET = new URL("./client-fleet.mjs", import.meta.url).pathname;

export class Fleet {
  constructor(children) {
    this.children = children;
  }

  /** Starts `processes` load-generator processes. */
  static async start(processes) {
    const children = await Promise.all(
      Array.from({ length: processes }, async () => {
        const child = fork(FLEET, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
        await once(child, "started");
        return child;
      }),
    );
    return new Fleet(children);
  }

  /** Opens one connection per user, spread over the processes; resolves when all are live. */
  async open(spec, users) {
    const parts = this.children.map((_, i) => users.filter((_, j) => j % this.children.length === i));
    const started = Date.now();
    const replies = await Promise.all(
      this.children.map((c, i) => {
        c.send({ cmd: "open", ...spec, users: parts[i] });
        return once(c, "ready", 600_000);
      }),
    );
    const opened = replies.reduce((s, r) => s + r.opened, 0);
    const failed = replies.reduce((s, r) => s + r.failed, 0);
    return { opened, failed, ms: Date.now() - started };
  }

  /**
   * Sends `m` to every process, with `each(i)` merged in, and resolves with their replies
   * of type `reply` (the tracked connections of the reconnect scenario, see client-fleet.mjs).
   */
  ask(m, reply, { each = () => ({}), timeoutMs = 600_000 } = {}) {
    return Promise.all(
      this.children.map((c, i) => {
        c.send({ ...m, ...each(i) });
        return once(c, reply, timeoutMs);
      }),
    );
  }

  /** `users` dealt over the processes, as `open` does: part i goes to process i. */
  deal(users) {
    return this.children.map((_, i) => users.filter((_, j) => j % this.children.length === i));
  }

  /** Closes and reopens `count` connections per load-generator process; resolves with how many came back. */
  async churn(count) {
    const replies = await Promise.all(
      this.children.map((c) => {
        c.send({ cmd: "churn", count });
        return once(c, "churned");
      }),
    );
    return replies.reduce((s, r) => s + r.churned, 0);
  }

  async reset() {
    await Promise.all(
      this.children.map((c) => {
        c.send({ cmd: "reset" });
        return once(c, "reset");
      }),
    );
  }

  /** Frames received since the last reset, and their merged latency histogram (ms). */
  async report() {
    const replies = await Promise.all(
      this.children.map((c) => {
        c.send({ cmd: "report" });
        return once(c, "report");
      }),
    );
    const merge = (key) => {
      const h = hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 3_600_000,
        numberOfSignificantValueDigits: 3,
      });
      for (const r of replies) h.add(hdr.decodeFromCompressedBase64(r[key]));
      return h;
    };
    return { frames: replies.reduce((s, r) => s + r.frames, 0), hist: merge("hist"), critical: merge("critical") };
  }

  /** Frames received since the last reset (cheap: no histograms). */
  async count() {
    const replies = await Promise.all(
      this.children.map((c) => {
        c.send({ cmd: "count" });
        return once(c, "count");
      }),
    );
    return replies.reduce((s, r) => s + r.frames, 0);
  }

  async stop() {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once("exit", resolve);
            c.send({ cmd: "exit" });
            setTimeout(() => c.kill("SIGKILL"), 3000).unref();
          }),
      ),
    );
  }
}

/** The next IPC message of `type` from a child. */
export function once(child, type, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no "${type}" from pid ${child.pid} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m) => {
      if (m?.type !== type) return;
      cleanup();
      resolve(m);
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`pid ${child.pid} exited (${code}) before "${type}"`));
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/** Latency percentiles (ms) of an HDR histogram; values were recorded as ms + 1. */
export function percentiles(hist) {
  if (hist.totalCount === 0) return { p50: null, p99: null, p999: null, max: null, count: 0 };
  const at = (q) => Math.max(0, hist.getValueAtPercentile(q) - 1);
  return { p50: at(50), p99: at(99), p999: at(99.9), max: Math.max(0, hist.maxValue - 1), count: hist.totalCount };
}
