import { randomBytes, randomUUID } from "node:crypto";
import { type HeraldProcess, type LocalRedis, signToken, startHerald, startLocalRedis, waitFor } from "@herald/testkit";
import WebSocket from "ws";
import { type ConnectOptions, connect, type HeraldClient, type Message, type StateChange } from "../../src/index.js";

/**
 * A real Herald deployment on loopback for one test file: a private redis-server, edge and
 * worker processes (the built CLI), with fresh secrets and key prefix.
 */
export class Cluster {
  readonly secret = randomBytes(24).toString("hex");
  readonly apiKey = randomBytes(16).toString("hex");
  readonly prefix = `c${randomUUID().slice(0, 8)}`;
  readonly procs: HeraldProcess[] = [];
  private constructor(
    readonly redis: LocalRedis,
    readonly env: Record<string, string>,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<Cluster> {
    const redis = await startLocalRedis();
    const c = new Cluster(redis, {});
    Object.assign(c.env, {
      REDIS_URL: redis.url,
      HERALD_JWT_SECRET: c.secret,
      HERALD_API_KEYS: c.apiKey,
      HERALD_PREFIX: c.prefix,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "info",
      ...env,
    });
    try {
      await c.start("worker");
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  async start(role: "edge" | "worker", env: Record<string, string> = {}): Promise<HeraldProcess> {
    const p = await startHerald(role, { ...this.env, HERALD_NODE_ID: `${role}-${this.procs.length}`, ...env });
    this.procs.push(p);
    return p;
  }

  token(user: string, expiresIn: string | number = "1h", claims: Record<string, unknown> = {}): Promise<string> {
    return signToken(this.secret, user, claims, expiresIn);
  }

  /** POST /v1/messages through `edge`; resolves with the message ids. */
  async post(edge: HeraldProcess, ...messages: object[]): Promise<string[]> {
    const res = await fetch(`http://127.0.0.1:${edge.port}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ messages }),
      signal: AbortSignal.timeout(15_000),
    });
    const json = (await res.json()) as { ids: string[] };
    if (res.status !== 202) throw new Error(`POST /v1/messages: ${res.status} ${JSON.stringify(json)}`);
    return json.ids;
  }

  /** A sample of a counter on a process's /metrics, summed over its label sets. */
  async metric(proc: HeraldProcess, name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${proc.port}/metrics`)).text();
    return text
      .split("\n")
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.procs.map((p) => p.stop("SIGKILL")));
    await this.redis.stop();
  }
}

export const wsUrl = (edge: HeraldProcess) => `ws://127.0.0.1:${edge.port}/v1/ws`;

/** An SDK client (over `ws`) that records what the application is given. */
export class Recorder {
  readonly client: HeraldClient;
  readonly states: StateChange[] = [];
  readonly messages: Message[] = [];
  readonly gaps: string[] = [];
  readonly subscribed: string[] = [];

  constructor(options: ConnectOptions) {
    this.client = connect({ WebSocket, backoff: { initialMs: 50, maxMs: 400 }, ...options });
    this.client.on("state", (s) => this.states.push(s));
    this.client.on("message", (m) => {
      this.messages.push(m);
    });
    this.client.on("history_gap", (c) => this.gaps.push(c));
    this.client.on("subscribed", (c) => this.subscribed.push(c));
  }

  ids(channel: string): string[] {
    return this.messages.filter((m) => m.channel === channel).map((m) => m.id);
  }

  /** Waits for the `n`th `state` event (counting from 1) matching `match`. */
  state(match: (s: StateChange) => boolean, what: string, n = 1): Promise<StateChange> {
    return waitFor(() => this.states.filter(match)[n - 1], `client state: ${what}`, 30_000);
  }

  live(n = 1): Promise<StateChange> {
    return this.state((s) => s.state === "live", `live #${n}`, n);
  }

  /** Waits until `channel` has received each of `ids`. */
  receivedAll(channel: string, ids: readonly string[]): Promise<string[]> {
    return waitFor(
      () => ids.every((id) => this.ids(channel).includes(id)) && this.ids(channel),
      `${ids.length} given messages on ${channel}`,
      30_000,
    );
  }

  /** Waits until `channel` has received at least `count` messages. */
  received(channel: string, count: number): Promise<string[]> {
    return waitFor(
      () => this.ids(channel).length >= count && this.ids(channel),
      `${count} messages on ${channel}`,
      30_000,
    );
  }
}
