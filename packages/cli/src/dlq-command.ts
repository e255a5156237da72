import { DeadLetters, Enqueuer } from "@herald/jobs";
import { closeRedis, connectRedis, defineScripts, Keys, waitReady } from "@herald/redis";
import { type Config, enqueuerOptions } from "./config/load-config.js";

/** `herald dlq list [--limit N] | retry <entryId…> | retry --all`. Prints JSON lines. */
export async function dlqCommand(config: Config, args: string[]): Promise<number> {
  const redis = defineScripts(connectRedis(config.redisUrl, { name: "dlq-cli", failFast: true }));
  redis.on("error", () => undefined);
  const keys = new Keys(config.prefix);
  const deadLetters = new DeadLetters(redis, keys, config.deadLetterCapacity);
  const enqueuer = new Enqueuer(redis, keys, enqueuerOptions(config));
  try {
    await waitReady(redis, 5000);
    const [sub, ...rest] = args;
    if (sub === "list") {
      const limitAt = rest.indexOf("--limit");
      const limit = limitAt >= 0 ? Number(rest[limitAt + 1]) : 100;
      if (!Number.isInteger(limit) || limit < 1) throw new Error("--limit takes a positive whole number");
      const total = await deadLetters.count();
      for (const entry of await deadLetters.list(0, limit - 1)) process.stdout.write(`${JSON.stringify(entry)}\n`);
      process.stderr.write(`${total} dead letter(s)${total > limit ? `, showing the oldest ${limit}` : ""}\n`);
      return 0;
    }
    if (sub === "retry") {
      const all = rest.includes("--all");
      const ids = rest.filter((a) => a !== "--all");
      if (!all && ids.length === 0) throw new Error("retry needs entry ids (from `herald dlq list`) or --all");
      const n = await deadLetters.retry(enqueuer, all ? undefined : ids);
      process.stderr.write(`re-drove ${n} message(s)\n`);
      return 0;
    }
    throw new Error("usage: herald dlq list [--limit N] | herald dlq retry <entryId…> | herald dlq retry --all");
  } finally {
    await Promise.allSettled([deadLetters.close(), enqueuer.close()]);
    await closeRedis(redis);
  }
}
