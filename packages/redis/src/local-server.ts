import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

export interface LocalRedis {
  url: string;
  port: number;
  pid: number;
  /** Stops the server (SIGKILL with `hard`, as a crash would) and removes its temp dir. */
  stop(hard?: boolean): Promise<void>;
  /** Kills the server at once, synchronously (for an `exit` handler, where nothing can be awaited). */
  kill(): void;
}

/** A free loopback port (the OS picks; a race with another process is possible, so callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts a private `redis-server` on loopback: no persistence, in a temp dir, with the
 * `noeviction` policy BullMQ needs. Used by `herald all` in dev mode and by the tests.
 * Pass `port` to restart a server on the port it had.
 */
export async function startLocalRedis(
  opts: {
    binary?: string;
    port?: number;
    /** Keep an AOF (appendfsync everysec) in this directory, kept on stop: a restart on it recovers. */
    aofDir?: string;
    /**
     * Have the kernel kill the server when this process dies, however it dies (SIGKILL too),
     * through util-linux's `setpriv --pdeathsig` where it exists (Linux).
     */
    dieWithParent?: boolean;
  } = {},
): Promise<LocalRedis> {
  const binary = opts.binary ?? "redis-server";
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = opts.port ?? (await freePort());
    const dir = opts.aofDir ?? mkdtempSync(join(tmpdir(), "herald-redis-"));
    const [command, argv] = commandLine(binary, serverArgs(port, dir, opts.aofDir !== undefined), opts.dieWithParent);
    const child = spawn(command, argv, { stdio: ["ignore", "ignore", "pipe"] });
    try {
      await waitForServer(child, port);
      return handle(child, port, opts.aofDir ? undefined : dir);
    } catch (err) {
      lastError = err;
      child.kill("SIGKILL");
      if (!opts.aofDir) rmSync(dir, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code === "ENOENT") break;
    }
  }
  throw lastError;
}

/** util-linux's setpriv, where it is installed: it sets the parent-death signal, then execs. */
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));

/** The server's command line, under setpriv when it must die with this process (and setpriv exists). */
function commandLine(binary: string, args: string[], dieWithParent = false): [string, string[]] {
  return dieWithParent ? diesWithParent(binary, args, "KILL") : [binary, args];
}

/**
 * A command line that receives `signal` when this process dies, however it dies (SIGKILL
 * too): run under util-linux's `setpriv --pdeathsig` where it exists (Linux), else as is.
 */
export function diesWithParent(binary: string, args: readonly string[], signal: "KILL" | "TERM"): [string, string[]] {
  return SETPRIV ? [SETPRIV, ["--pdeathsig", signal, "--", binary, ...args]] : [binary, [...args]];
}

function serverArgs(port: number, dir: string, aof: boolean): string[] {
  const persistence = aof ? ["--appendonly", "yes", "--appendfsync", "everysec"] : ["--appendonly", "no"];
  return [
    ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence],
    ...["--dir", dir, "--maxmemory-policy", "noeviction", "--loglevel", "warning"],
    // An edge that falls behind is disconnected by Redis past this buffer, losing what was
    // published to it meanwhile; Redis's default is too tight for bursts (infra/redis/redis.conf).
    ...["--client-output-buffer-limit", "pubsub 256mb 128mb 60"],
  ];
}

/** `dir`: the temp dir to remove on stop (undefined: a caller's AOF dir, kept). */
function handle(child: ChildProcess, port: number, dir: string | undefined): LocalRedis {
  let stopped: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid as number,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    stop(hard = false) {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill(hard ? "SIGKILL" : "SIGTERM");
      }).finally(() => dir && rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

async function waitForServer(child: ChildProcess, port: number): Promise<void> {
  let exited: Error | undefined;
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2000);
  });
  child.once("error", (e) => {
    exited = e;
  });
  child.once("exit", (code) => {
    // 127: setpriv (or a shell) found no redis-server to run: the same as spawn's ENOENT.
    exited ??= Object.assign(new Error(`redis-server exited with ${code}: ${stderr.trim()}`), {
      code: code === 127 ? "ENOENT" : undefined,
    });
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) throw exited;
    if (await redisReachable(`redis://127.0.0.1:${port}`)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer within 10 s`);
}

/**
 * A one-off connection for probing a Redis: it connects when asked, tries once, never
 * retries; its connection errors reject its commands, which the caller handles.
 */
export function probeConnection(url: string, timeoutMs = 1500): Redis {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  probe.on("error", failsTheProbe);
  return probe;
}

/** True when a Redis answers PING at `url` within `timeoutMs`. */
export async function redisReachable(url: string, timeoutMs = 1500): Promise<boolean> {
  const probe = probeConnection(url, timeoutMs);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** A probe's connection errors also reject its connect() or ping(), which the caller handles. */
function failsTheProbe(_err: Error): void {
  // handled where connect() or ping() rejects
}
