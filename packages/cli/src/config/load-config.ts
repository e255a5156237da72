import type { EnqueuerOptions } from "@herald/jobs";
import { HeraldError } from "@herald/protocol";
import type { z } from "zod";
import { defaultNodeId, type Role, VARIABLES, type Variable, type VariableKey } from "./variables.js";

type Values = { [K in VariableKey]: z.output<(typeof VARIABLES)[K]["schema"]> };

/** The typed, validated, frozen configuration of one process. */
export type Config = Readonly<
  Omit<
    Values,
    | "dev"
    | "nodeId"
    | "jwtSecret"
    | "jwtKid"
    | "jwtPreviousSecrets"
    | "apiKeys"
    | "edgeMetricsPort"
    | "edgeLocalMetricsPort"
    | "dashboard"
  > & {
    /** Whether an edge serves the operator dashboard (HERALD_DASHBOARD, else dev mode). */
    dashboard: boolean;
    /** Where an edge serves /metrics when not on its public port. */
    edgeMetricsPort: number | undefined;
    /** A loopback port where an edge also serves /metrics (for its supervisor). */
    edgeLocalMetricsPort: number | undefined;
    role: Role;
    dev: boolean;
    /** Whether REDIS_URL was set: a set one is never replaced by a private Redis. */
    redisUrlSet: boolean;
    nodeId: string;
    /** Undefined only in dev mode, where the CLI generates one. */
    jwtSecret: string | undefined;
    jwtKid: string | undefined;
    /** Older secrets still accepted while secrets rotate. */
    jwtPreviousSecrets: readonly { kid: string | undefined; secret: string }[];
    apiKeys: readonly string[];
  }
>;

/** What the Enqueuer needs of the configuration (HTTP ingest, worker retries, `herald dlq retry`). */
export function enqueuerOptions(config: Config): EnqueuerOptions {
  return { capacity: config.queueCapacity, maxMessagesPerJob: config.batchSize };
}

/**
 * Reads every variable from `env` (unset or empty means the default), validates all of
 * them, and reports every problem at once, each naming its variable.
 */
export function loadConfig(role: Role, env: Readonly<Record<string, string | undefined>>): Config {
  const { values, problems } = readVariables(env);
  const dev = (values.dev as boolean | undefined) ?? role === "all";
  problems.push(...crossProblems(role, dev, values), ...redisProblems(env, values));
  if (problems.length) {
    throw new HeraldError("invalid_config", `invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  return Object.freeze({
    ...(values as Values),
    role,
    dev,
    redisUrlSet: Boolean(env[VARIABLES.redisUrl.env]),
    nodeId: (values.nodeId as string | undefined) ?? defaultNodeId(),
    jwtSecret: values.jwtSecret as string | undefined,
    jwtKid: values.jwtKid as string | undefined,
    edgeMetricsPort: values.edgeMetricsPort as number | undefined,
    edgeLocalMetricsPort: values.edgeLocalMetricsPort as number | undefined,
    dashboard: (values.dashboard as boolean | undefined) ?? dev,
    jwtPreviousSecrets: Object.freeze((values.jwtPreviousSecrets as Config["jwtPreviousSecrets"] | undefined) ?? []),
    apiKeys: Object.freeze((values.apiKeys as string[] | undefined) ?? []),
  });
}

/** Each variable parsed on its own: its value (undefined when unset without a default), or a problem naming it. */
function readVariables(env: Readonly<Record<string, string | undefined>>) {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, variable] of Object.entries(VARIABLES)) {
    const raw = env[variable.env];
    const given = raw !== undefined && raw !== "";
    if (!given && variable.default === "") {
      values[key] = undefined;
      continue;
    }
    const r = variable.schema.safeParse(given ? raw : variable.default);
    if (r.success) values[key] = r.data;
    else problems.push(`${variable.env}=${shown(variable, raw)}: ${r.error.issues.map((i) => i.message).join("; ")}`);
  }
  return { values, problems };
}

/** A bad value as a problem report may show it: a secret never, a URL without its password. */
function shown(variable: Variable, raw: string | undefined): string {
  if (raw === undefined) return "(unset)";
  if (variable.secret) return "(hidden)";
  return JSON.stringify(withoutPassword(raw));
}

/** A URL with its password, if any, replaced by `***`, for logs and errors. */
export function withoutPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, "$1***@");
}

/** Problems that involve several variables or the role. */
function crossProblems(role: Role, dev: boolean, values: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const needsSecrets = role !== "worker" && !dev;
  if (needsSecrets && values.jwtSecret === undefined) {
    problems.push("HERALD_JWT_SECRET: required (or run in dev mode, HERALD_DEV=1)");
  }
  if (needsSecrets && values.apiKeys === undefined) {
    problems.push("HERALD_API_KEYS: required (or run in dev mode, HERALD_DEV=1)");
  }
  if ((values.backoffMaxMs as number) < (values.backoffMs as number)) {
    problems.push("HERALD_BACKOFF_MAX_MS: must be at least HERALD_BACKOFF_MS");
  }
  return problems;
}

/** Cluster mode needs the cluster's seeds (no private Redis stands in for one); a list of URLs needs cluster mode. */
function redisProblems(env: Readonly<Record<string, string | undefined>>, values: Record<string, unknown>): string[] {
  const cluster = values.redisCluster === true;
  if (cluster && !env[VARIABLES.redisUrl.env]) {
    return ["HERALD_REDIS_CLUSTER: cluster mode needs REDIS_URL, the cluster's seed URLs (comma-separated)"];
  }
  if (!cluster && String(values.redisUrl ?? "").includes(",")) {
    return ["REDIS_URL: a list of URLs is for a Redis Cluster (set HERALD_REDIS_CLUSTER=1)"];
  }
  return [];
}

/** HERALD_JWT_SECRET (and HERALD_JWT_KID) alone, validated, for `herald token`. */
export function tokenSecret(env: Readonly<Record<string, string | undefined>>): { secret: string; kid?: string } {
  const raw = env[VARIABLES.jwtSecret.env];
  const r = VARIABLES.jwtSecret.schema.safeParse(raw ?? "");
  if (!raw || !r.success) {
    const why = raw ? r.error?.issues.map((i) => i.message).join("; ") : "required";
    throw new HeraldError("invalid_config", `HERALD_JWT_SECRET: ${why} (herald token signs with it)`);
  }
  const kid = VARIABLES.jwtKid.schema.safeParse(env[VARIABLES.jwtKid.env]);
  return kid.success ? { secret: r.data, kid: kid.data } : { secret: r.data };
}
