import type { Logger } from "@herald/observability";
import type { Redis } from "ioredis";

/**
 * Warns, once Redis answers, about settings under which Herald's promises do not hold:
 * a `maxmemory-policy` other than `noeviction` lets Redis evict queued jobs, presence and
 * counters when it is full, losing accepted messages without a word (docs/operations.md,
 * "Redis"). A Redis that refuses CONFIG (some managed services) is noted, not an error.
 */
export function checkRedisSettings(redis: Redis, log: Logger): void {
  const check = () => {
    redis.config("GET", "maxmemory-policy").then(
      (reply) => {
        const policy = (reply as string[])[1];
        if (policy && policy !== "noeviction") {
          log.warn(
            { policy },
            "Redis maxmemory-policy is not noeviction: a full Redis may evict queued messages and presence",
          );
        }
      },
      (err: Error) =>
        log.info({ err: err.message }, "could not read Redis's maxmemory-policy; make sure it is noeviction"),
    );
  };
  if (redis.status === "ready") check();
  else redis.once("ready", check);
}
