import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Logger } from "@herald/observability";
import { diesWithParent } from "@herald/redis";

export interface ChildSpec {
  /** `edge-0`, `worker-1`, …: for logs. */
  name: string;
  role: "edge" | "worker";
  env: Readonly<Record<string, string>>;
}

/** Shortest and longest wait before a crashed child is started again; the wait doubles per quick crash. */
const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 30_000;
/** A child that ran this long before it crashed is restarted after the shortest wait again. */
const STABLE_MS = 60_000;

/**
 * The log line after which a child is past its start-up, per role: an edge once it serves
 * (it may wait for Redis, serving 503 meanwhile), a worker once it runs (it loaded its handlers).
 */
const STARTED: Record<ChildSpec["role"], (msg: string) => boolean> = {
  edge: (msg) => msg.startsWith("edge bound"),
  worker: (msg) => msg === "worker running",
};

/**
 * One child process of the supervisor: `herald edge` or `herald worker`, started again with
 * back-off when it crashes, and sent SIGTERM when the supervisor stops (a clean drain); it is
 * killed with the supervisor if that dies otherwise: a SIGKILLed supervisor leaves no child behind. Its log lines are passed
 * through to the supervisor's stdout.
 */
export class SupervisedChild {
  private child: ChildProcess | undefined;
  private stopping = false;
  private quickCrashes = 0;
  private timer: NodeJS.Timeout | undefined;
  private resolveUp!: () => void;
  private rejectUp!: (err: Error) => void;
  /** Resolves when the child is first past its start-up; rejects if it exits before (a start-up error). */
  readonly up: Promise<void>;
  private isUp = false;

  constructor(
    readonly spec: ChildSpec,
    private readonly cli: string,
    private readonly log: Logger,
    private readonly onRestart: (role: ChildSpec["role"]) => void,
  ) {
    this.up = new Promise((resolve, reject) => {
      this.resolveUp = resolve;
      this.rejectUp = reject;
    });
    this.up.catch(reportedBySupervisor);
  }

  start(): void {
    // KILL, not TERM: an orphan's own shutdown was seen to hang in process exit (its Redis gone
    // too), leaving it running; clients of a killed edge resume elsewhere with `since`.
    const [command, args] = diesWithParent(process.execPath, [this.cli, this.spec.role], "KILL");
    const child = spawn(command, args, { env: this.spec.env, stdio: ["ignore", "pipe", "inherit"] });
    this.child = child;
    const startedAt = Date.now();
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => this.onLine(line));
    child.once("exit", (code, signal) => this.onExit(code, signal, Date.now() - startedAt));
  }

  /** Sends SIGTERM (no restart after it); resolves when the child has exited. */
  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  }

  private onLine(line: string): void {
    process.stdout.write(`${line}\n`);
    if (this.isUp || !line.startsWith("{")) return;
    try {
      const msg = (JSON.parse(line) as { msg?: unknown }).msg;
      if (typeof msg === "string" && STARTED[this.spec.role](msg)) {
        this.isUp = true;
        this.resolveUp();
      }
    } catch {
      // not a log line of ours: passed through as is
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, ranMs: number): void {
    if (this.stopping) return;
    if (!this.isUp) {
      this.rejectUp(new Error(`${this.spec.name} exited (${signal ?? code}) before it served`));
      return;
    }
    this.quickCrashes = ranMs >= STABLE_MS ? 0 : this.quickCrashes + 1;
    const waitMs = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.max(0, this.quickCrashes - 1));
    this.log.error({ child: this.spec.name, code, signal, waitMs }, "a child process died: starting it again");
    this.onRestart(this.spec.role);
    this.timer = setTimeout(() => {
      if (!this.stopping) this.start();
    }, waitMs);
  }
}

/** A child's failed start is reported by the supervisor, which awaits `up`; this only keeps it from being unhandled. */
function reportedBySupervisor(_err: unknown): void {
  // the supervisor logs it and stops
}
