import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait-for.js";

const CLI = fileURLToPath(new URL("../../cli/bin/herald.js", import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface HeraldProcess {
  role: string;
  pid: number;
  /** Edge port (edge, all), or the worker's ops port. */
  port: number;
  logs: LogLine[];
  /** Text the process wrote that was not a JSON log line (stderr included). */
  text: () => string;
  waitForLog(match: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal and waits for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Runs the real `herald` CLI (the built one, as `npx herald` would) with the given
 * environment, port 0, and waits until it serves (`until: "bound"`: until its port answers).
 */
export async function startHerald(
  role: "edge" | "worker" | "all",
  env: Record<string, string>,
  opts: { nodeArgs?: string[]; until?: "listening" | "bound" } = {},
): Promise<HeraldProcess> {
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI, role], {
    env: { PATH: process.env.PATH ?? "", HERALD_PORT: "0", HERALD_METRICS_PORT: "0", HERALD_HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: LogLine[] = [];
  let text = "";
  let partial = "";
  child.stdout?.on("data", (b: Buffer) => {
    partial += b.toString();
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        text += `${line}\n`;
      }
    }
  });
  child.stderr?.on("data", (b: Buffer) => {
    text += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => {
    exitCode = c;
  });

  const waitForLog = (match: (l: LogLine) => boolean, what: string, timeoutMs = 15_000) =>
    waitFor(
      () => {
        const hit = logs.find(match);
        if (hit) return hit;
        if (exitCode !== undefined) throw new Error(`herald ${role} exited (${exitCode}) before ${what}:\n${text}`);
        return undefined;
      },
      `herald ${role}: ${what}\n${text}`,
      timeoutMs,
    );

  // "bound": the port answers (health, readiness) though Redis may be out of reach; "listening": live.
  const bound = opts.until === "bound";
  let listening: LogLine;
  try {
    listening =
      role === "worker"
        ? await waitForLog((l) => l.msg === "worker ops endpoints listening", "ops endpoints")
        : bound
          ? await waitForLog((l) => l.msg.startsWith("edge bound"), "edge bound")
          : await waitForLog((l) => l.msg === "edge listening", "edge listening");
    if (role === "all" && !bound) await waitForLog((l) => l.msg === "worker running", "worker running");
  } catch (err) {
    child.kill("SIGKILL"); // a start that failed leaves nothing running
    const last = logs.slice(-10).map((l) => JSON.stringify(l));
    throw new Error(`${(err as Error).message}${last.length ? `\nits last log lines:\n${last.join("\n")}` : ""}`);
  }

  return {
    role,
    pid: child.pid as number,
    port: listening.port as number,
    logs,
    text: () => text,
    waitForLog,
    exited,
    async stop(signal = "SIGTERM") {
      if (exitCode !== undefined) return exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
