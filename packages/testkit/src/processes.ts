import { execFileSync } from "node:child_process";

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of a process's children (with `deep`, their children too, and so on); none when it has none. */
export function childPids(pid: number, deep = false): number[] {
  let direct: number[];
  try {
    direct = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
  return deep ? direct.flatMap((p) => [p, ...childPids(p, true)]) : direct;
}
