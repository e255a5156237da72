import { randomBytes } from "node:crypto";
import type { Logger } from "@herald/observability";
import { type LocalRedis, redisReachable, startLocalRedis } from "@herald/redis";
import { createSigner } from "fast-jwt";
import { withoutPassword } from "./config/load-config.js";

/**
 * Dev mode with REDIS_URL unset: uses the Redis at the default `url` if it answers (and
 * `mode` is "auto"); otherwise starts a private `redis-server` from the PATH, stopped when
 * this process exits however it exits (SIGKILL too, where setpriv exists); otherwise fails with a message that says how to get
 * Redis. A REDIS_URL that was set never comes here: it is used as it is, answering or not.
 */
export async function provisionRedis(
  url: string,
  mode: "auto" | "private",
  log: Logger,
): Promise<{ url: string; local?: LocalRedis }> {
  if (mode === "auto" && (await redisReachable(url))) return { url };
  try {
    const local = await startLocalRedis({ dieWithParent: true });
    process.once("exit", () => local.kill());
    const why = mode === "private" ? "HERALD_DEV_REDIS=private" : `no Redis at ${withoutPassword(url)}`;
    log.warn({ url: local.url, pid: local.pid }, `${why}: started a private redis-server (loopback, no persistence)`);
    return { url: local.url, local };
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new Error(
      missing
        ? `no Redis answers at ${withoutPassword(url)} and no redis-server is on the PATH. Install Redis (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL to a running one.`
        : `no Redis answers at ${withoutPassword(url)}, and starting a private redis-server failed: ${(err as Error).message}`,
    );
  }
}

export function generateSecret(): string {
  return randomBytes(24).toString("base64url");
}

/** A client token for trying things out, naming the secret's `kid` when it has one. */
export function signToken(
  key: { secret: string; kid?: string | undefined },
  userId: string,
  channels: string[],
  ttlSeconds = 24 * 3600,
): string {
  const sign = createSigner({
    key: key.secret,
    algorithm: "HS256",
    expiresIn: ttlSeconds * 1000,
    ...(key.kid ? { kid: key.kid } : {}),
  });
  return sign({ sub: userId, channels });
}

/**
 * Prints what dev mode generated, and only that: a configured secret is never printed, nor a
 * token signed with one (it would be a working credential in a log).
 */
export function announceDevSecrets(log: Logger, port: number, generated: { secret?: string; apiKey?: string }): void {
  const { secret, apiKey } = generated;
  if (!secret && !apiKey) return;
  const token = secret ? signToken({ secret }, "alice", ["demo:*", "workflow:*"]) : undefined;
  log.info({ sampleToken: token, apiKey, port }, "dev mode: generated the secrets that were not configured");
  const lines = ["", "  Herald is running in dev mode (set HERALD_JWT_SECRET and HERALD_API_KEYS to keep secrets)."];
  if (token) {
    lines.push(`  WebSocket:    ws://localhost:${port}/v1/ws?token=${token}`);
    lines.push("               (user alice, may subscribe to demo:* and workflow:*; valid 24 h)");
  }
  if (apiKey) {
    lines.push(`  Producer key: ${apiKey}`);
    lines.push(`  Send:         curl -X POST localhost:${port}/v1/messages -H 'authorization: Bearer ${apiKey}' \\`);
    lines.push(
      `                  -H 'content-type: application/json' -d '{"to":{"user":"alice"},"event":"hello","data":{"n":1}}'`,
    );
  }
  if (token && apiKey) {
    lines.push(`  Demo:         http://localhost:${port}/demo/#token=${token}&key=${apiKey}`);
    lines.push(`  Dashboard:    http://localhost:${port}/dashboard  (asks for the producer key)`);
  }
  process.stderr.write(`${lines.join("\n")}\n\n`);
}
