import { DeadLetters, Enqueuer, PendingCount } from "@herald/jobs";
import { closeRedis, connectRedis, defineScripts, Keys, waitReady } from "@herald/redis";
import { type Config, enqueuerOptions } from "./config/load-config.js";

const USAGE = "usage: herald dlq list [--limit N] | herald dlq retry <entryId…> | herald dlq retry --all";

/** `herald dlq list [--limit N] | retry <entryId…> | retry --all`. Prints JSON lines. */
export async function dlqCommand(config: Config, args: string[]): Promise<number> {
  // The gateway's layout and connection: in cluster mode the dead letters and the queues they
  // go back to are under the cluster's keys, on whichever masters hold them.
  const cluster = config.redisCluster;
  const redis = defineScripts(connectRedis(config.redisUrl, { name: "dlq-cli", failFast: true, cluster }));
  let lastError: Error | undefined;
  redis.on("error", (err: Error) => {
    lastError = err; // reported below if Redis never comes up
  });
  const keys = new Keys(config.prefix, cluster ? "cluster" : "standalone");
  const deadLetters = new DeadLetters(redis, keys, config.deadLetterCapacity);
  const enqueuer = new Enqueuer({ redis, keys, pending: new PendingCount(redis, keys) }, enqueuerOptions(config));
  try {
    await waitReady(redis, 5000).catch((err: Error) => {
      throw new Error(`${err.message}${lastError ? `: ${lastError.message}` : ""}`);
    });
    const [sub, ...rest] = args;
    if (sub === "list") return await list(deadLetters, rest);
    if (sub === "retry") return await retry(deadLetters, enqueuer, rest);
    throw new Error(USAGE);
  } finally {
    await Promise.allSettled([deadLetters.close(), enqueuer.close()]);
    await closeRedis(redis);
  }
}

async function list(deadLetters: DeadLetters, args: string[]): Promise<number> {
  const limitAt = args.indexOf("--limit");
  const limit = limitAt >= 0 ? Number(args[limitAt + 1]) : 100;
  if (!Number.isInteger(limit) || limit < 1) throw new Error("--limit takes a positive whole number");
  const total = await deadLetters.count();
  for (const entry of await deadLetters.list(0, limit - 1)) process.stdout.write(`${JSON.stringify(entry)}\n`);
  process.stderr.write(`${total} dead letter(s)${total > limit ? `, showing the oldest ${limit}` : ""}\n`);
  return 0;
}

async function retry(deadLetters: DeadLetters, enqueuer: Enqueuer, args: string[]): Promise<number> {
  const all = args.includes("--all");
  const ids = args.filter((a) => a !== "--all");
  if (!all && ids.length === 0) throw new Error("retry needs entry ids (from `herald dlq list`) or --all");
  const n = await deadLetters.retry(enqueuer, all ? undefined : ids);
  process.stderr.write(`re-drove ${n} message(s)\n`);
  return 0;
}
