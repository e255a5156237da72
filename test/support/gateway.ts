import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { HeraldProducer, type ProducerOptions } from "@herald/producer";
import type { MessageInput } from "@herald/protocol";
import {
  type HeraldProcess,
  type LocalCluster,
  type LocalRedis,
  signToken,
  startHerald,
  startLocalCluster,
  startLocalRedis,
  TestClient,
} from "@herald/testkit";

/** Whether the suites run against a private cluster (HERALD_TEST_REDIS=cluster): tests that drive one Redis itself skip. */
export const ON_CLUSTER = process.env.HERALD_TEST_REDIS === "cluster";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../packages/cli/bin/herald.js", import.meta.url));

export interface GatewayOptions {
  edges?: number;
  workers?: number;
  env?: Record<string, string>;
  /**
   * Run on a private Redis Cluster (3 masters, `replicas` each) in cluster mode
   * (HERALD_REDIS_CLUSTER=1) instead of a private redis-server. HERALD_TEST_REDIS=cluster
   * in the test runner's environment makes it the default, to run any suite against a cluster.
   */
  redisCluster?: { replicas?: number };
}

/** A private cluster behind the `LocalRedis` face the tests use (restartRedisEmpty does not apply). */
function clusterAsRedis(cluster: LocalCluster): LocalRedis {
  const first = cluster.nodes[0] as LocalCluster["nodes"][number];
  return {
    url: cluster.url,
    port: first.port,
    pid: first.pid,
    stop: () => cluster.stop(),
    kill: () => cluster.kill(),
  };
}

/**
 * A real Herald deployment on loopback for one test file: a private redis-server,
 * some edge processes and some worker processes, with fresh secrets and key prefix.
 */
export class Gateway {
  readonly secret = randomBytes(24).toString("hex");
  readonly apiKey = randomBytes(16).toString("hex");
  readonly prefix = `t${randomUUID().slice(0, 8)}`;
  edges: HeraldProcess[] = [];
  workers: HeraldProcess[] = [];
  /** The private cluster, with `redisCluster`. */
  cluster: LocalCluster | undefined;

  private constructor(
    public redis: LocalRedis,
    readonly env: Record<string, string>,
  ) {}

  static async start(opts: GatewayOptions = {}): Promise<Gateway> {
    const clustered = opts.redisCluster ?? (ON_CLUSTER ? {} : undefined);
    const cluster = clustered ? await startLocalCluster({ masters: 3, replicas: clustered.replicas ?? 0 }) : undefined;
    const redis = cluster ? clusterAsRedis(cluster) : await startLocalRedis();
    const g = new Gateway(redis, {});
    g.cluster = cluster;
    Object.assign(g.env, {
      ...(cluster ? { HERALD_REDIS_CLUSTER: "1" } : {}),
      REDIS_URL: redis.url,
      HERALD_JWT_SECRET: g.secret,
      HERALD_API_KEYS: g.apiKey,
      HERALD_PREFIX: g.prefix,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "info",
      ...opts.env,
    });
    try {
      const edges = Array.from({ length: opts.edges ?? 1 }, (_, i) => g.startEdge({ HERALD_NODE_ID: `edge-${i}` }));
      const workers = Array.from({ length: opts.workers ?? 1 }, (_, i) =>
        g.startWorker({ HERALD_NODE_ID: `worker-${i}` }),
      );
      // Every start settled (not the first failure) before stopping, so none is left behind.
      const failed = (await Promise.allSettled([...edges, ...workers])).find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    } catch (err) {
      await g.stop(); // a start that failed leaves no redis-server or node running
      throw err;
    }
    return g;
  }

  async startEdge(env: Record<string, string> = {}): Promise<HeraldProcess> {
    const p = await startHerald("edge", { ...this.env, ...env });
    this.edges.push(p);
    return p;
  }

  async startWorker(env: Record<string, string> = {}): Promise<HeraldProcess> {
    const p = await startHerald("worker", { ...this.env, ...env });
    this.workers.push(p);
    return p;
  }

  get port(): number {
    return (this.edges[0] as HeraldProcess).port;
  }

  token(user: string, claims: Record<string, unknown> = {}, expiresIn = "1h"): Promise<string> {
    return signToken(this.secret, user, claims, expiresIn);
  }

  async connect(user: string, claims: Record<string, unknown> = {}, edge = 0, query = ""): Promise<TestClient> {
    return TestClient.connect((this.edges[edge] as HeraldProcess).port, await this.token(user, claims), query);
  }

  /** Runs the herald CLI (`dlq list`, …) with the gateway's environment. */
  cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run(process.execPath, [CLI, ...args], { env: { ...process.env, ...this.env } });
  }

  /** The dead letters, as `herald dlq list` prints them (one JSON object a line). */
  async deadLetters(): Promise<any[]> {
    const { stdout } = await this.cli("dlq", "list");
    return stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }

  /** POST /v1/messages; `body` is sent as is when a string. */
  async post(
    body: unknown,
    opts: { edge?: number; key?: string } = {},
  ): Promise<{ status: number; json: any; headers: Headers }> {
    const port = (this.edges[opts.edge ?? 0] as HeraldProcess).port;
    const res = await fetch(`http://127.0.0.1:${port}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${opts.key ?? this.apiKey}`, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  /** One sample of a metric from a process's /metrics (summing over label sets that match `labels`). */
  async metric(proc: HeraldProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${proc.port}/metrics`)).text();
    let sum = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return sum;
  }

  /** A producer SDK on this gateway's Redis, in its mode (the cluster layout when it runs on a cluster). */
  producer(opts: Omit<ProducerOptions, "redisUrl" | "connection" | "prefix" | "cluster"> = {}): HeraldProducer {
    return new HeraldProducer({ redisUrl: this.redis.url, prefix: this.prefix, cluster: !!this.cluster, ...opts });
  }

  /** Each Redis server's URL, for settings made per server: the redis-server's, or every cluster node's. */
  get serverUrls(): string[] {
    return this.cluster ? this.cluster.nodes.map((n) => n.url) : [this.redis.url];
  }

  /** Kills Redis (as a crash would) and starts an empty one on the same port: everything it held is gone. */
  async restartRedisEmpty(): Promise<void> {
    if (this.cluster) throw new Error("restartRedisEmpty applies to a single redis-server, not a cluster");
    const { port } = this.redis;
    await this.redis.stop(true);
    this.redis = await startLocalRedis({ port });
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.edges, ...this.workers].map((p) => p.stop("SIGKILL")));
    await this.redis.stop();
  }
}

/** A message to send; also a malformed one, for tests of refusals (hence the cast). */
export const msg = (to: unknown, event = "note", extra: Record<string, unknown> = {}) =>
  ({ to, event, ...extra }) as MessageInput;
