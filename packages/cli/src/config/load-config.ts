import type { EnqueuerOptions } from "@herald/jobs";
import { HeraldError } from "@herald/protocol";
import type { z } from "zod";
import { defaultNodeId, type Role, VARIABLES, type VariableKey } from "./variables.js";

type Values = { [K in VariableKey]: z.output<(typeof VARIABLES)[K]["schema"]> };

/** The typed, validated, frozen configuration of one process. */
export type Config = Readonly<
  Omit<Values, "dev" | "nodeId" | "jwtSecret" | "apiKeys"> & {
    role: Role;
    dev: boolean;
    nodeId: string;
    /** Undefined only in dev mode, where the CLI generates one. */
    jwtSecret: string | undefined;
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
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, variable] of Object.entries(VARIABLES)) {
    const raw = env[variable.env];
    const given = raw !== undefined && raw !== "";
    if (!given && variable.default === "") {
      out[key] = undefined;
      continue;
    }
    const r = variable.schema.safeParse(given ? raw : variable.default);
    if (r.success) out[key] = r.data;
    else problems.push(`${variable.env}=${JSON.stringify(raw)}: ${r.error.issues.map((i) => i.message).join("; ")}`);
  }
  const dev = (out.dev as boolean | undefined) ?? role === "all";
  const needsEdge = role !== "worker";
  if (needsEdge && !dev && out.jwtSecret === undefined)
    problems.push("HERALD_JWT_SECRET: required (or run in dev mode, HERALD_DEV=1)");
  if (needsEdge && !dev && out.apiKeys === undefined)
    problems.push("HERALD_API_KEYS: required (or run in dev mode, HERALD_DEV=1)");
  if ((out.backoffMaxMs as number) < (out.backoffMs as number))
    problems.push("HERALD_BACKOFF_MAX_MS: must be at least HERALD_BACKOFF_MS");
  if (problems.length) {
    throw new HeraldError("invalid_config", `invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  return Object.freeze({
    ...(out as Values),
    role,
    dev,
    nodeId: (out.nodeId as string | undefined) ?? defaultNodeId(),
    jwtSecret: out.jwtSecret as string | undefined,
    apiKeys: Object.freeze((out.apiKeys as string[] | undefined) ?? []),
  });
}
