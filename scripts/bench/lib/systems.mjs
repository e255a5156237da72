// Starts each system under test the same way and gives it one interface:
//   { name, protocol, ports, pids, broadcast({topic,rate,seconds,size}), targeted({users,rate,seconds,size}), stop() }
// broadcast/targeted resolve with how many messages the system accepted.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { startLocalCluster, startLocalRedis } from "@herald/redis";
import { startHerald } from "@herald/testkit";
import { once } from "./fleet.mjs";

const servers = new URL("../servers/", import.meta.url).pathname;

async function startServer(file, env = {}) {
  const child = fork(`${servers}${file}`, [], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const { port } = await once(child, "listening", 60_000);
  return { child, port };
}

function command(child, m, timeoutMs = 600_000) {
  child.send(m);
  return once(child, "done", timeoutMs);
}

function kill(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGKILL");
  });
}

/** A single-process peer: raw uWS or plain ws. */
async function single(name, file) {
  const { child, port } = await startServer(file);
  return {
    name,
    protocol: "raw",
    ports: [port],
    pids: [child.pid],
    broadcast: async (o) => (await command(child, { cmd: "broadcast", ...o })).sent,
    targeted: async (o) => (await command(child, { cmd: "targeted", ...o })).sent,
    stop: () => kill(child),
  };
}

export const SYSTEMS = {
  "raw-uws": () => single("raw uWS", "raw-uws.mjs"),
  ws: () => single("ws", "plain-ws.mjs"),

  /** Socket.IO, `nodes` processes joined by @socket.io/redis-adapter; node 0 publishes. */
  async socketio({ nodes = 2 } = {}) {
    const redis = await startLocalRedis();
    const started = await Promise.all(
      Array.from({ length: nodes }, () => startServer("socketio.mjs", { REDIS_URL: redis.url })),
    );
    const first = started[0].child;
    return {
      name: `Socket.IO + redis-adapter (${nodes} nodes)`,
      protocol: "socketio",
      ports: started.map((s) => s.port),
      pids: started.map((s) => s.child.pid),
      broadcast: async (o) => (await command(first, { cmd: "broadcast", ...o })).sent,
      targeted: async (o) => (await command(first, { cmd: "targeted", ...o })).sent,
      stop: async () => {
        await Promise.all(started.map((s) => kill(s.child)));
        await redis.stop();
      },
    };
  },

  async soketi() {
    const { child, port } = await startServer("soketi.mjs");
    return {
      name: "Soketi 1.6.1",
      protocol: "soketi",
      ports: [port],
      pids: [child.pid],
      appKey: "app-key",
      broadcast: async (o) => (await command(child, { cmd: "broadcast", ...o })).sent,
      stop: () => kill(child),
    };
  },

  /**
   * Herald: a private redis-server, `edges` edges and `workers` workers (the real CLI), and a
   * producer process using the SDK (`via: "sdk"`) or the HTTP API (`via: "http"`); `label`
   * is added to its name. `redisCluster`: a private 3-master Redis Cluster instead, and every
   * process (the producer's SDK too) in cluster mode.
   */
  async herald({
    edges = 1,
    workers = 1,
    via = "sdk",
    env = {},
    batch,
    graceful = false,
    nodeArgs = [],
    edgeNodeArgs = [],
    label,
    redisCluster = false,
  } = {}) {
    const redis = redisCluster ? await startLocalCluster({ masters: 3, dieWithParent: true }) : await startLocalRedis();
    const base = heraldEnv(redis, redisCluster ? { HERALD_REDIS_CLUSTER: "1", ...env } : env);
    const procs = await Promise.all([
      ...Array.from({ length: edges }, (_, i) =>
        startHerald("edge", { ...base, HERALD_NODE_ID: `edge-${i}` }, { nodeArgs: edgeNodeArgs }),
      ),
      ...Array.from({ length: workers }, (_, i) =>
        startHerald("worker", { ...base, HERALD_NODE_ID: `worker-${i}` }, { nodeArgs }),
      ),
    ]);
    const edgeProcs = procs.slice(0, edges);
    const name = `Herald ${edges}+${workers} (${via === "sdk" ? "SDK" : "HTTP"}${batch === 1 ? ", 1 message a job" : ""}${redisCluster ? ", 3-master Redis Cluster" : ""}${label ? `, ${label}` : ""})`;
    const sys = await heraldSystem({
      name,
      base,
      redis,
      via,
      batch,
      graceful,
      nodeArgs,
      ports: edgeProcs.map((e) => e.port),
      metricsPort: edgeProcs[0].port,
      edgePids: edgeProcs.map((e) => e.pid),
      workerPids: procs.slice(edges).map((w) => w.pid),
      procs,
    });
    return {
      ...sys,
      get workerPorts() {
        return procs.slice(edges).map((w) => w.port);
      },
      async startWorker() {
        const w = await startHerald("worker", { ...base, HERALD_NODE_ID: `worker-${procs.length}` }, { nodeArgs });
        procs.push(w);
        return w;
      },
    };
  },

  /**
   * `herald all`, as `npm start` and a single-machine deployment run it: one command, its
   * supervisor starting `edges` edge and `workers` worker processes (the edges share one
   * port); producers reach it over HTTP (`via: "http"`) or the SDK.
   */
  async heraldAll({ edges = 1, workers = 1, via = "http", env = {}, label } = {}) {
    const redis = await startLocalRedis();
    const base = heraldEnv(redis, {
      HERALD_EDGE_PROCESSES: String(edges),
      HERALD_WORKER_PROCESSES: String(workers),
      ...env,
    });
    const all = await startHerald("all", base);
    const running = await all.waitForLog((l) => l.msg === "supervisor running", "supervisor running");
    await all.waitForLog(
      () => all.logs.filter((l) => l.msg === "worker running").length === workers,
      "every worker running",
      30_000,
    );
    const pidsOf = (msg) => all.logs.filter((l) => l.msg === msg).map((l) => l.pid);
    return heraldSystem({
      name: `Herald all ${edges}+${workers} (${via === "sdk" ? "SDK" : "HTTP"}${label ? `, ${label}` : ""})`,
      base,
      redis,
      via,
      nodeArgs: [],
      ports: [all.port],
      metricsPort: running.port,
      edgePids: pidsOf("edge listening"),
      workerPids: pidsOf("worker running"),
      procs: [all],
    });
  },
};

/** The environment every Herald process of a bench system shares: a private Redis, fresh secrets, limits out of the way. */
function heraldEnv(redis, env) {
  return {
    REDIS_URL: redis.url,
    HERALD_JWT_SECRET: randomBytes(24).toString("hex"),
    HERALD_API_KEYS: randomBytes(16).toString("hex"),
    HERALD_PREFIX: "bench",
    LOG_LEVEL: "info", // nothing is logged per message; start-up lines are how the runner knows a node serves
    HERALD_MAX_CONNECTIONS: "1000000",
    HERALD_MAX_BACKPRESSURE_BYTES: String(64 << 20),
    HERALD_QUEUE_CAPACITY: "1000000",
    ...env,
  };
}

/** A started Herald's interface for the scenarios, with its producer process (SDK or HTTP). */
async function heraldSystem({
  name,
  base,
  redis,
  via,
  batch,
  graceful = false,
  nodeArgs,
  ports,
  metricsPort,
  edgePids,
  workerPids,
  procs,
}) {
  const producerEnv = { ...base, HTTP_PORTS: ports.join(","), API_KEY: base.HERALD_API_KEYS };
  const producer = fork(`${servers}herald-producer.mjs`, [], {
    execArgv: nodeArgs,
    env: { ...process.env, ...producerEnv },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await once(producer, "started");
  const run = async (o) => (await command(producer, { cmd: "run", via, batch, ...o })).accepted;
  return {
    name,
    protocol: "herald",
    secret: base.HERALD_JWT_SECRET,
    ports,
    pids: edgePids,
    workerPids,
    /** Every Redis server's pid: one standalone, or each master of a cluster. */
    redisPids: redis.nodes ? redis.nodes.map((n) => n.pid) : [redis.pid],
    env: producerEnv,
    producerPid: producer.pid,
    broadcast: (o) => run({ ...o, target: "topic" }),
    targeted: (o) => run({ ...o, target: "user" }),
    raw: (o) => command(producer, { cmd: "run", via, batch, ...o }),
    /** Messages accepted and not yet finished, summed over the priority queues (herald_queue_waiting). */
    async pending() {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return text
        .split("\n")
        .filter((l) => l.startsWith("herald_queue_waiting{"))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    },
    stop: async () => {
      if (graceful) {
        producer.kill("SIGTERM"); // lets --cpu-prof write its profile
        await new Promise((r) => producer.once("exit", r));
      } else await kill(producer);
      await Promise.all(procs.map((p) => p.stop(graceful ? "SIGTERM" : "SIGKILL")));
      await redis.stop();
    },
  };
}

/** Resident set size (bytes) and CPU time (s) of a process, from /proc. */
export async function processStats(pid) {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  const stat = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1].split(" ");
  const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime, in clock ticks (100/s)
  return { rss, cpuSeconds: ticks / 100 };
}
