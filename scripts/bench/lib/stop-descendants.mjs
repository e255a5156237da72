// A benchmark starts many processes (redis-servers, Herald's edges and workers, peers, load
// generators). Whatever way the run ends (done, a crash, Ctrl-C, SIGTERM), everything it
// started is stopped: no redis-server or edge is left running, orphaned.
import { execFileSync } from "node:child_process";

/** Every process started by this one, children first found, recursively (Linux `pgrep -P`). */
function descendants(pid) {
  let children = [];
  try {
    children = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there is none
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/** SIGKILLs every descendant of this process; returns how many there were. */
export function stopDescendants() {
  const all = descendants(process.pid);
  for (const pid of all) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone between the listing and the kill: nothing left to stop
    }
  }
  return all.length;
}

/** Stops every descendant on any way out: a normal exit, an uncaught error, SIGINT or SIGTERM. */
export function stopDescendantsOnExit(name = "bench", log = console.error) {
  process.on("exit", () => stopDescendants());
  const fail = (err) => {
    log(`${name}: ${err?.stack ?? err}`);
    const n = stopDescendants();
    if (n) log(`${name}: stopped ${n} process(es) it had started`);
    process.exit(1);
  };
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ]) {
    process.on(signal, () => {
      const n = stopDescendants();
      log(`${name}: ${signal}: stopped ${n} process(es) it had started`);
      process.exit(code);
    });
  }
}
