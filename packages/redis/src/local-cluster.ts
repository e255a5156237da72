import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { diesWithParent, freePort, probeConnection, redisReachable } from "./local-server.js";

const run = promisify(execFile);

/** One server of a local cluster. */
export interface LocalClusterNode {
  port: number;
  pid: number;
  url: string;
}

export interface LocalCluster {
  /** The seed URLs, comma-separated (what `REDIS_URL` takes in cluster mode). */
  url: string;
  nodes: readonly LocalClusterNode[];
  /** The node serving a slot as master now, and its replicas. */
  masterOf(slot: number): Promise<LocalClusterNode>;
  replicasOf(master: LocalClusterNode): Promise<LocalClusterNode[]>;
  /** `CLUSTER FAILOVER` on a replica; resolves once every node sees it serve `slot` as master. */
  failover(replica: LocalClusterNode, slot: number): Promise<void>;
  /**
   * Moves one slot, keys and all, to another master, as `redis-cli --cluster reshard` does
   * (SETSLOT IMPORTING/MIGRATING, MIGRATE in batches, SETSLOT NODE everywhere).
   */
  moveSlot(slot: number, to: LocalClusterNode): Promise<void>;
  /** Runs `redis-cli` with these arguments; resolves with its stdout. */
  cli(...args: string[]): Promise<string>;
  /** Stops every server (SIGKILL) and removes the temp dir. */
  stop(): Promise<void>;
  /** `stop` without waiting for the servers to exit: for an exit handler, where nothing async runs. */
  kill(): void;
}

export interface LocalClusterOptions {
  masters?: number;
  replicas?: number;
  /** The servers die with this process, however it dies (SIGKILL too), where setpriv exists. */
  dieWithParent?: boolean;
}

/**
 * Starts a private Redis Cluster on loopback: `masters` servers with `replicas` replicas each,
 * joined by `redis-cli --cluster create` (which splits the 16384 slots evenly, in port order),
 * no persistence, in a temp dir. For tests and benchmarks; stopped by pid.
 */
export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  let lastError: unknown;
  // A port taken between its pick and the server's bind (other processes run too): try again.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function startOnce(opts: LocalClusterOptions): Promise<LocalCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const dir = mkdtempSync(join(tmpdir(), "herald-cluster-"));
  const children: ChildProcess[] = [];
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    removeDir();
  };
  const kill = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    removeDir();
  };
  try {
    const nodes: LocalClusterNode[] = [];
    const taken = new Set<number>();
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await clusterPort(taken);
      const args = clusterArgs(port, dir);
      const [command, argv] = opts.dieWithParent
        ? diesWithParent("redis-server", args, "KILL")
        : ["redis-server", args];
      const child = spawn(command, argv, { stdio: "ignore" });
      children.push(child);
      nodes.push({ port, pid: child.pid as number, url: `redis://127.0.0.1:${port}` });
    }
    await Promise.all(nodes.map((n) => waitForPing(n.port)));
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run("redis-cli", [
      "--cluster",
      "create",
      ...addresses,
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes",
    ]);
    await waitForClusterOk(nodes);
    return handle(nodes, stop, kill);
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A free port whose cluster bus port (the port + 10000, which Redis also binds) is free too:
 * an ephemeral port above 55535 has none.
 */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = await freePort();
    if (port > 55535 || taken.has(port) || taken.has(port + 10000) || !(await canBind(port + 10000))) continue;
    taken.add(port).add(port + 10000);
    return port;
  }
  throw new Error("no free port pair for a cluster node");
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

function clusterArgs(port: number, dir: string): string[] {
  return [
    ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    ...["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--cluster-node-timeout", "2000"],
    ...["--maxmemory-policy", "noeviction", "--loglevel", "warning"],
    ...["--client-output-buffer-limit", "pubsub 256mb 128mb 60"],
  ];
}

function handle(nodes: LocalClusterNode[], stop: () => Promise<void>, kill: () => void): LocalCluster {
  const cli = async (...args: string[]) => (await run("redis-cli", args)).stdout;
  const byPort = (port: number) => nodes.find((n) => n.port === port) as LocalClusterNode;
  return {
    url: nodes.map((n) => n.url).join(","),
    nodes,
    cli,
    async masterOf(slot) {
      for (const n of nodes) {
        // A node that is down (stopped, or failing over) cannot answer: ask the next.
        const shards = await clusterSlots(n.port).catch(notReachable);
        const range = shards?.find(([from, to]) => from <= slot && slot <= to);
        if (range) return byPort(range[2]);
      }
      throw new Error(`no master serves slot ${slot}`);
    },
    async replicasOf(master) {
      const out = await cli("-p", String(master.port), "cluster", "replicas", await nodeId(master.port));
      return [...out.matchAll(/127\.0\.0\.1:(\d+)@/g)].map((m) => byPort(Number(m[1])));
    },
    async failover(replica, slot) {
      await cli("-p", String(replica.port), "cluster", "failover");
      await until(async () =>
        (await Promise.all(nodes.map((n) => ownerSeenBy(n.port, slot)))).every((p) => p === replica.port),
      );
    },
    async moveSlot(slot, to) {
      const from = await this.masterOf(slot);
      const [fromId, toId] = await Promise.all([nodeId(from.port), nodeId(to.port)]);
      await cli("-p", String(to.port), "cluster", "setslot", String(slot), "importing", fromId);
      await cli("-p", String(from.port), "cluster", "setslot", String(slot), "migrating", toId);
      for (;;) {
        const keys = (await cli("-p", String(from.port), "cluster", "getkeysinslot", String(slot), "100")).split("\n");
        const batch = keys.map((k) => k.trim()).filter((k) => k !== "");
        if (batch.length === 0) break;
        await cli("-p", String(from.port), "migrate", "127.0.0.1", String(to.port), "", "0", "5000", "keys", ...batch);
      }
      await cli("-p", String(to.port), "cluster", "setslot", String(slot), "node", toId);
      await cli("-p", String(from.port), "cluster", "setslot", String(slot), "node", toId);
      // The other masters learn it from these two too; replicas refuse SETSLOT.
      for (const n of nodes.filter((x) => x !== to && x !== from)) {
        await cli("-p", String(n.port), "cluster", "setslot", String(slot), "node", toId).catch(notReachable);
      }
      await until(async () =>
        (await Promise.all(nodes.map((n) => ownerSeenBy(n.port, slot)))).every((p) => p === to.port),
      );
    },
    stop,
    kill,
  };
}

/** The port of the master serving `slot`, as the node on `port` sees it (undefined while it cannot say). */
async function ownerSeenBy(port: number, slot: number): Promise<number | undefined> {
  const shards = await clusterSlots(port).catch(notReachable);
  return shards?.find(([from, to]) => from <= slot && slot <= to)?.[2];
}

/** Polls `check` every 50 ms until it holds; throws after 30 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the cluster did not settle within 30 s");
}

/** CLUSTER SLOTS as [from, to, master port] triples, as one node sees them. */
async function clusterSlots(port: number): Promise<[number, number, number][]> {
  const r = probeConnection(`redis://127.0.0.1:${port}`);
  try {
    await r.connect();
    const reply = (await r.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
    return reply.map(([from, to, master]) => [from, to, master[1]]);
  } finally {
    r.disconnect();
  }
}

async function nodeId(port: number): Promise<string> {
  return (await run("redis-cli", ["-p", String(port), "cluster", "myid"])).stdout.trim();
}

async function waitForPing(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await redisReachable(`redis://127.0.0.1:${port}`)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer within 10 s`);
}

/** Waits until every node reports the cluster ok with every slot assigned. */
async function waitForClusterOk(nodes: readonly LocalClusterNode[]): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const infos = await Promise.all(
      nodes.map((n) => run("redis-cli", ["-p", String(n.port), "cluster", "info"]).then((o) => o.stdout)),
    );
    if (infos.every((s) => s.includes("cluster_state:ok") && s.includes("cluster_slots_ok:16384"))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the local cluster did not reach state ok within 20 s");
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

function notReachable(_err: unknown): undefined {
  return undefined;
}
