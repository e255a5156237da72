import { describe, expect, it } from "vitest";
import { loadConfig } from "./load-config.js";
import { VARIABLES } from "./variables.js";

const secrets = { HERALD_JWT_SECRET: "s".repeat(32), HERALD_API_KEYS: "k".repeat(20) };

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const c = loadConfig("edge", secrets);
    expect(c.port).toBe(8080);
    expect(c.host).toBe("0.0.0.0");
    expect(c.prefix).toBe("herald");
    expect(c.idleTimeoutSeconds).toBe(1800);
    expect(c.queueCapacity).toBe(10_000);
    expect(c.concurrency).toBe(10);
    expect(c.batchSize).toBe(100);
    expect(c.maxAttempts).toBe(5);
    expect(c.jobTimeoutMs).toBe(30_000);
    expect(c.dev).toBe(false);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("names every bad variable at once", () => {
    expect(() => loadConfig("all", { ...secrets, HERALD_PORT: "eighty", HERALD_QUEUE_CAPACITY: "-1" })).toThrow(
      /HERALD_PORT="eighty".*\n.*HERALD_QUEUE_CAPACITY="-1"/,
    );
  });

  it("requires secrets for an edge outside dev mode, and not for `all` (dev by default)", () => {
    expect(() => loadConfig("edge", {})).toThrow(/HERALD_JWT_SECRET: required[\s\S]*HERALD_API_KEYS: required/);
    expect(loadConfig("all", {}).dev).toBe(true);
    expect(() => loadConfig("all", { HERALD_DEV: "0" })).toThrow(/HERALD_JWT_SECRET/);
    expect(loadConfig("worker", {}).jwtSecret).toBeUndefined();
  });

  it("splits API keys; cluster mode takes a list of seed URLs and needs one", () => {
    expect(
      loadConfig("edge", { ...secrets, HERALD_API_KEYS: `${"a".repeat(16)}, ${"b".repeat(16)}` }).apiKeys,
    ).toHaveLength(2);
    expect(() => loadConfig("edge", { ...secrets, HERALD_REDIS_CLUSTER: "1" })).toThrow(
      /HERALD_REDIS_CLUSTER.*REDIS_URL/,
    );
    const seeds = "redis://10.0.0.1:7000,redis://10.0.0.2:7000";
    expect(loadConfig("edge", { ...secrets, HERALD_REDIS_CLUSTER: "1", REDIS_URL: seeds }).redisCluster).toBe(true);
    expect(() => loadConfig("edge", { ...secrets, REDIS_URL: seeds })).toThrow(/REDIS_URL.*HERALD_REDIS_CLUSTER=1/);
  });

  it("reads older token secrets for rotation, with or without a key id, and never prints them", () => {
    const c = loadConfig("edge", {
      ...secrets,
      HERALD_JWT_KID: "2026-12",
      HERALD_JWT_PREVIOUS_SECRETS: `2026-11=${"o".repeat(20)}, ${"b".repeat(20)}`,
    });
    expect(c.jwtKid).toBe("2026-12");
    expect(c.jwtPreviousSecrets).toEqual([
      { kid: "2026-11", secret: "o".repeat(20) },
      { kid: undefined, secret: "b".repeat(20) },
    ]);
    expect(() => loadConfig("edge", { ...secrets, HERALD_JWT_PREVIOUS_SECRETS: "old=short" })).toThrow(
      /HERALD_JWT_PREVIOUS_SECRETS=\(hidden\): every secret must be at least 16/,
    );
  });

  it("documents every variable", () => {
    for (const v of Object.values(VARIABLES)) expect(v.doc.length).toBeGreaterThan(5);
  });
});

describe("README", () => {
  it("documents every configuration variable with its default", async () => {
    const { readFileSync } = await import("node:fs");
    const readme = readFileSync(new URL("../../../../README.md", import.meta.url), "utf8");
    for (const v of Object.values(VARIABLES)) {
      const cells = readme
        .split("\n")
        .map((l) => l.split("|").map((c) => c.trim()))
        .find((c) => c[1] === `\`${v.env}\``);
      expect(cells, v.env).toBeDefined();
      if (v.default !== "") expect(cells?.[2], v.env).toContain(`\`${v.default}\``);
    }
  });
});
