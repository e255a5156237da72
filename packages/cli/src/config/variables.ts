import { hostname } from "node:os";
import { DEFAULT_MESSAGES_PER_JOB } from "@herald/jobs";
import { parseHistoryRules } from "@herald/protocol";
import { z } from "zod";

/** One configuration variable: its env name, schema (with default) and a doc line for the README. */
export interface Variable<T = unknown> {
  env: string;
  schema: z.ZodType<T>;
  default: string;
  doc: string;
  roles: readonly Role[];
  /** Never printed: a bad value is reported without it. */
  secret?: boolean;
}
export type Role = "edge" | "worker" | "all";

const ALL: readonly Role[] = ["edge", "worker", "all"];
const EDGE: readonly Role[] = ["edge", "all"];
const WORKER: readonly Role[] = ["worker", "all"];

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const flag = z.enum(["0", "1", "true", "false"]).transform((v) => v === "1" || v === "true");
const list = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean),
);

/** A number of processes, or `auto`. */
const processCount = z
  .string()
  .regex(/^(auto|[1-9][0-9]?)$/, "`auto` or 1 to 99")
  .transform((s) => (s === "auto" ? ("auto" as const) : Number(s)));

function v<T>(env: string, schema: z.ZodType<T>, def: string, doc: string, roles = ALL): Variable<T> {
  return { env, schema, default: def, doc, roles };
}

/** `kid=secret` or a bare secret. */
function parseSecret(item: string): { kid: string | undefined; secret: string } {
  const m = /^([A-Za-z0-9_.:-]{1,64})=(.+)$/.exec(item);
  return m ? { kid: m[1], secret: m[2] as string } : { kid: undefined, secret: item };
}

function secret<T>(variable: Variable<T>): Variable<T> {
  return { ...variable, secret: true };
}

/**
 * Every variable Herald reads. `process.env` is read only by the CLI's entry points, which
 * hand it whole to this module (and, in bin/herald.js, NODE_OPTIONS before anything loads).
 * Defaults are strings, parsed like the environment, so the table documents exactly what applies.
 */
export const VARIABLES = {
  redisUrl: v(
    "REDIS_URL",
    z
      .string()
      .regex(
        /^rediss?:\/\/[^,]*(,\s*rediss?:\/\/[^,]*)*$/,
        "must be a redis:// URL (or a comma-separated list of them)",
      ),
    "redis://127.0.0.1:6379",
    "Redis URL; with `HERALD_REDIS_CLUSTER=1`, a comma-separated list of seed URLs",
  ),
  redisCluster: v(
    "HERALD_REDIS_CLUSTER",
    flag,
    "0",
    "Redis Cluster mode (Redis 7+): keys spread over the masters by user, topic and queue, deliveries over sharded pub/sub (docs/scaling.md)",
  ),
  port: v("HERALD_PORT", int(0, 65535), "8080", "edge listen port (0 = pick a free one and log it)", EDGE),
  host: v("HERALD_HOST", z.string().min(1), "0.0.0.0", "edge listen address", EDGE),
  jwtSecret: secret(
    v(
      "HERALD_JWT_SECRET",
      z.string().min(16, "must be at least 16 characters"),
      "",
      "HS256 secret for client tokens (required; generated in dev mode)",
      EDGE,
    ),
  ),
  jwtKid: v(
    "HERALD_JWT_KID",
    z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "letters, digits, _ . : - only"),
    "",
    "key id of HERALD_JWT_SECRET: tokens whose header names it are checked against that secret only",
    EDGE,
  ),
  jwtPreviousSecrets: secret(
    v(
      "HERALD_JWT_PREVIOUS_SECRETS",
      list
        .transform((items) => items.map(parseSecret))
        .refine((items) => items.every((s) => s.secret.length >= 16), "every secret must be at least 16 characters")
        .refine((items) => items.length <= 8, "at most 8"),
      "",
      "comma list of older secrets still accepted while secrets rotate, each `kid=secret` or a bare secret",
      EDGE,
    ),
  ),
  jwtClockToleranceSeconds: v(
    "HERALD_JWT_CLOCK_TOLERANCE_SECONDS",
    int(0, 3600),
    "10",
    "allowance for the token issuer's clock being ahead or behind (nbf, exp, iat)",
    EDGE,
  ),
  jwtMaxAgeSeconds: v(
    "HERALD_JWT_MAX_AGE_SECONDS",
    int(0, 366 * 86400),
    "0",
    "refuse tokens issued (iat) longer ago than this, and tokens without iat (0 = no limit)",
    EDGE,
  ),
  apiKeys: secret(
    v(
      "HERALD_API_KEYS",
      list.refine((keys) => keys.every((k) => k.length >= 16), "every key must be at least 16 characters"),
      "",
      "comma list of producer keys for the HTTP API (required; generated in dev mode)",
      EDGE,
    ),
  ),
  prefix: v(
    "HERALD_PREFIX",
    z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - only"),
    "herald",
    "prefix of every Redis key and channel",
  ),
  nodeId: v(
    "HERALD_NODE_ID",
    z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/),
    "",
    "this node's id (default hostname-pid)",
  ),
  metricsPort: v(
    "HERALD_METRICS_PORT",
    int(0, 65535),
    "9464",
    "a worker's /metrics, /healthz, /readyz port; under a supervisor (`herald all`, or a role with several processes) the supervisor's, serving every process's metrics",
  ),
  edgeProcesses: v(
    "HERALD_EDGE_PROCESSES",
    processCount,
    "auto",
    "edge processes, sharing the listen port (`auto`: one per two cores for `herald all`, 1 for `herald edge`); more than one runs under a supervisor",
    EDGE,
  ),
  workerProcesses: v(
    "HERALD_WORKER_PROCESSES",
    processCount,
    "auto",
    "worker processes (`auto`: one per two cores for `herald all`, 1 for `herald worker`); more than one runs under a supervisor",
    WORKER,
  ),
  dashboard: v(
    "HERALD_DASHBOARD",
    flag,
    "",
    "serve the operator dashboard at /dashboard (its data needs a producer key); default on in dev mode, off otherwise",
    EDGE,
  ),
  edgeLocalMetricsPort: v(
    "HERALD_EDGE_LOCAL_METRICS_PORT",
    int(1, 65535),
    "",
    "also serve this edge's /metrics, /healthz, /readyz on 127.0.0.1 at this port (a supervisor sets it for each edge process it runs, to gather them)",
    EDGE,
  ),
  metricsHost: v(
    "HERALD_METRICS_HOST",
    z.string().min(1),
    "0.0.0.0",
    "address the worker's ops port and an edge's separate metrics port listen on",
  ),
  canarySeconds: v(
    "HERALD_CANARY_SECONDS",
    int(0, 3600),
    "5",
    "how often an edge sends itself a canary delivery per lane; one not back in 4 intervals makes it unready (0 = off)",
    EDGE,
  ),
  history: v(
    "HERALD_HISTORY",
    z.string().transform((text, ctx) => {
      try {
        return parseHistoryRules(text);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }),
    "",
    "history per channel pattern, before the defaults `user:* 20/1h, * 200/1h`: comma-separated `<pattern> <entries>/<age>` (age in s, m, h, d) or `<pattern> 0` for none, e.g. `chat:* 0, workflow:* 1000/1h`",
    WORKER,
  ),
  unackedMax: v(
    "HERALD_UNACKED_MAX",
    int(0, 100_000),
    "100",
    "critical messages kept per user until acknowledged (past it, new ones are delivered and replayed but not re-sent)",
    WORKER,
  ),
  unackedSeconds: v(
    "HERALD_UNACKED_SECONDS",
    int(1, 30 * 86400),
    "86400",
    "longest a critical message awaits its acknowledgement (its ttl, when shorter, ends it first)",
    WORKER,
  ),
  replayLimit: v(
    "HERALD_REPLAY_LIMIT",
    int(1, 10_000),
    "1000",
    "most history entries one `since` replays; when more were missed the client gets `history_gap`",
    EDGE,
  ),
  edgeMetricsPort: v(
    "HERALD_EDGE_METRICS_PORT",
    int(0, 65535),
    "",
    "serve an edge's /metrics on this port (with /healthz and /readyz) instead of its public port (unset = the edge port)",
    EDGE,
  ),
  maxFrameBytes: v("HERALD_MAX_FRAME_BYTES", int(64, 16 << 20), "65536", "largest client frame accepted", EDGE),
  drainSeconds: v(
    "HERALD_DRAIN_SECONDS",
    z.coerce.number().min(0).max(600),
    "10",
    "window over which a draining edge closes its clients",
    EDGE,
  ),
  logLevel: v(
    "LOG_LEVEL",
    z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
    "info",
    "pino level",
  ),
  dev: v(
    "HERALD_DEV",
    flag,
    "",
    "dev mode: generate missing secrets, start a private Redis if REDIS_URL is unset and none answers (default 1 for `herald all`)",
  ),
  devRedis: v(
    "HERALD_DEV_REDIS",
    z.enum(["auto", "private"]),
    "auto",
    "dev mode with REDIS_URL unset: `auto` uses a Redis at the default address if one answers, else starts a private one; `private` always starts a private one",
  ),
  heartbeatSeconds: v(
    "HERALD_HEARTBEAT_SECONDS",
    int(4, 600),
    "25",
    "the edge pings each client this often (clients spread over the interval)",
    EDGE,
  ),
  idleTimeoutSeconds: v(
    "HERALD_IDLE_TIMEOUT_SECONDS",
    int(1, 7 * 86400),
    "1800",
    "close a connection whose client sent no frame for this long",
    EDGE,
  ),
  maxConnections: v("HERALD_MAX_CONNECTIONS", int(1, 10_000_000), "100000", "connections per edge node", EDGE),
  maxConnectionsPerUser: v(
    "HERALD_MAX_CONNECTIONS_PER_USER",
    int(1, 10_000),
    "20",
    "connections per user per edge node",
    EDGE,
  ),
  maxSubscriptions: v("HERALD_MAX_SUBSCRIPTIONS", int(1, 100_000), "100", "topic subscriptions per connection", EDGE),
  framesPerSecond: v(
    "HERALD_MAX_FRAMES_PER_SECOND",
    int(1, 100_000),
    "50",
    "client frames per second before rate_limited (burst 2x)",
    EDGE,
  ),
  maxBackpressureBytes: v(
    "HERALD_MAX_BACKPRESSURE_BYTES",
    int(1024, 1 << 30),
    "1048576",
    "unsent bytes per connection before it is closed with 1013",
    EDGE,
  ),
  maxBodyBytes: v(
    "HERALD_MAX_BODY_BYTES",
    int(1024, 64 << 20),
    "1048576",
    "largest producer HTTP body (413 past it)",
    EDGE,
  ),
  queueCapacity: v(
    "HERALD_QUEUE_CAPACITY",
    int(1, 100_000_000),
    "10000",
    "waiting messages per priority before 429 / queue_full",
  ),
  batchSize: v(
    "HERALD_BATCH_SIZE",
    int(1, 10_000),
    String(DEFAULT_MESSAGES_PER_JOB),
    "messages packed into one job (and one worker batch)",
  ),
  busBacklogBytes: v(
    "HERALD_BUS_BACKLOG_BYTES",
    int(0, 1 << 30),
    "4194304",
    "workers pause a lane while Redis holds more than this for one edge's subscriber (0 = never)",
    WORKER,
  ),
  concurrency: v("HERALD_WORKER_CONCURRENCY", int(1, 1000), "10", "jobs processed at once per priority queue", WORKER),
  bulkShare: v(
    "HERALD_WORKER_BULK_SHARE",
    z.coerce.number().gt(0).max(1),
    "0.5",
    "most of a worker's time normal and low jobs may take while critical or high ones flow (1 = no limit)",
    WORKER,
  ),
  jobTimeoutMs: v("HERALD_JOB_TIMEOUT_MS", int(1, 3_600_000), "30000", "handler timeout per message", WORKER),
  maxAttempts: v("HERALD_MAX_ATTEMPTS", int(1, 100), "5", "handler attempts per message before dead-lettering", WORKER),
  backoffMs: v(
    "HERALD_BACKOFF_MS",
    int(1, 3_600_000),
    "1000",
    "first retry delay; doubles each attempt, with jitter",
    WORKER,
  ),
  backoffMaxMs: v("HERALD_BACKOFF_MAX_MS", int(1, 86_400_000), "60000", "longest retry delay", WORKER),
  deadLetterCapacity: v(
    "HERALD_DEAD_LETTER_CAPACITY",
    int(1, 10_000_000),
    "10000",
    "dead letters kept (oldest dropped past it)",
    WORKER,
  ),
  handlers: v(
    "HERALD_HANDLERS",
    z.string(),
    "",
    "path of a module exporting register(registry) to add handlers",
    WORKER,
  ),
} as const;

export type VariableKey = keyof typeof VARIABLES;

export function defaultNodeId(): string {
  return `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_.:-]/g, "_").slice(0, 128);
}
