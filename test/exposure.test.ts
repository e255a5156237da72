import { freePort, type LocalRedis, startHerald, startLocalRedis } from "@herald/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let redis: LocalRedis;
beforeAll(async () => {
  redis = await startLocalRedis();
});
afterAll(() => redis?.stop());

const SECRETS = {
  HERALD_JWT_SECRET: "exposure-test-secret-0123456789",
  HERALD_API_KEYS: "exposure-test-key-0123456789",
};

describe("what a node exposes, and where", () => {
  it("serves an edge's metrics on a port of its own when asked, and not on the public port", async () => {
    const metricsPort = await freePort();
    const edge = await startHerald("edge", {
      ...SECRETS,
      REDIS_URL: redis.url,
      HERALD_PREFIX: "exposure",
      HERALD_EDGE_METRICS_PORT: String(metricsPort),
      HERALD_METRICS_HOST: "127.0.0.1",
    });
    try {
      expect((await fetch(`http://127.0.0.1:${edge.port}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${edge.port}/readyz`)).status).toBe(200);
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^herald_connections/m);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
    } finally {
      await edge.stop("SIGTERM");
    }
  });

  it("binds a worker's ops port to HERALD_METRICS_HOST", async () => {
    const worker = await startHerald("worker", {
      REDIS_URL: redis.url,
      HERALD_PREFIX: "exposure",
      HERALD_METRICS_HOST: "127.0.0.2",
    });
    try {
      expect((await fetch(`http://127.0.0.2:${worker.port}/healthz`)).status).toBe(200);
      await expect(fetch(`http://127.0.0.1:${worker.port}/healthz`)).rejects.toThrow();
    } finally {
      await worker.stop("SIGTERM");
    }
  });
});

describe("Redis settings Herald's promises need", () => {
  it("warns at start-up when Redis may evict (maxmemory-policy is not noeviction), and not when it may not", async () => {
    const admin = new Redis(redis.url);
    try {
      await admin.config("SET", "maxmemory-policy", "allkeys-lru");
      const evicting = await startHerald("worker", { REDIS_URL: redis.url, HERALD_PREFIX: "settings" });
      await evicting.waitForLog((l) => /maxmemory-policy is not noeviction/.test(l.msg), "the eviction warning");
      await evicting.stop("SIGTERM");
      await admin.config("SET", "maxmemory-policy", "noeviction");
      const safe = await startHerald("worker", { REDIS_URL: redis.url, HERALD_PREFIX: "settings" });
      await safe.waitForLog((l) => l.msg === "worker running", "the worker running");
      expect(safe.logs.some((l) => /maxmemory-policy/.test(l.msg))).toBe(false);
      await safe.stop("SIGTERM");
    } finally {
      admin.disconnect();
    }
  });
});
