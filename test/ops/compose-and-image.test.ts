import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT } from "./support/tools.js";

/**
 * The compose cluster and the Dockerfile, read as files: no container engine runs here, and
 * hadolint is in none of the registries we reach, so the rules an image must follow are
 * checked on the parsed Dockerfile.
 */

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked freely
type Obj = Record<string, any>;

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const compose = parse(read("infra/docker-compose.yml"), { merge: true }) as Obj;
const services = compose.services as Record<string, Obj>;
const EDGES = ["edge-1", "edge-2"];
const WORKERS = ["worker-1", "worker-2"];

/** Herald's own deadline after SIGTERM, with the defaults: drain 10 s + job timeout 30 s + 10 s. */
const HERALD_DEADLINE_SECONDS = 50;

describe("infra/docker-compose.yml", () => {
  it("runs Redis, 2 edges, 2 workers, a load balancer, Prometheus and Grafana", () => {
    for (const name of ["redis", ...EDGES, ...WORKERS, "lb", "prometheus", "grafana"])
      expect(Object.keys(services), name).toContain(name);
  });

  it("gives Redis an AOF and noeviction", () => {
    const conf = read("infra/redis/redis.conf");
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(/^appendonly yes$/m);
    const redis = services.redis as Obj;
    expect(redis.volumes).toContain("./redis/redis.conf:/usr/local/etc/redis/redis.conf:ro");
    expect(redis.command).toContain("/usr/local/etc/redis/redis.conf");
    expect(redis.volumes.some((v: string) => v.endsWith(":/data"))).toBe(true);
  });

  it("builds edges and workers from the repository's Dockerfile, hardened, each with its role and a readiness check", () => {
    for (const name of [...EDGES, ...WORKERS]) {
      const s = services[name] as Obj;
      expect(s.build, name).toEqual({ context: "..", dockerfile: "Dockerfile" });
      expect(s.command, name).toEqual([name.replace(/-\d$/, "")]);
      expect(s.read_only, name).toBe(true);
      expect(s.cap_drop, name).toEqual(["ALL"]);
      expect(s.security_opt, name).toContain("no-new-privileges:true");
      expect(s.user, name).toBe("10001:10001");
      expect(s.healthcheck.test.join(" "), name).toMatch(/\/readyz/);
      expect(Number.parseInt(s.stop_grace_period, 10), name).toBeGreaterThan(HERALD_DEADLINE_SECONDS);
      expect(s.environment.REDIS_URL, name).toBe("redis://redis:6379");
      expect(s.environment.HERALD_NODE_ID, name).toBe(name);
    }
  });

  it("has no default secret: the edges' secrets must come from the environment", () => {
    for (const name of EDGES) {
      const env = (services[name] as Obj).environment;
      expect(env.HERALD_JWT_SECRET).toMatch(/^\$\{HERALD_JWT_SECRET:\?/);
      expect(env.HERALD_API_KEYS).toMatch(/^\$\{HERALD_API_KEYS:\?/);
    }
  });

  it("balances over both edges on /readyz, with WebSocket timeouts and no stickiness", () => {
    const cfg = read("infra/haproxy/haproxy.cfg");
    for (const edge of EDGES) expect(cfg).toMatch(new RegExp(`^\\s*server ${edge} ${edge}:8080 check`, "m"));
    expect(cfg).toMatch(/option httpchk GET \/readyz/);
    expect(cfg).toMatch(/timeout tunnel 1h/);
    expect(cfg).not.toMatch(/^\s*(cookie|stick|balance source)/m);
    expect((services.lb as Obj).volumes).toContain("./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro");
  });

  it("scrapes every edge and worker as job herald, on the ports they serve metrics on", () => {
    const prom = parse(read("infra/prometheus/prometheus.yml")) as Obj;
    const herald = prom.scrape_configs.find((c: Obj) => c.job_name === "herald");
    const targets = herald.static_configs.flatMap((c: Obj) => c.targets).sort();
    const ports = (s: string) => (services[s] as Obj).environment;
    expect(targets).toEqual(
      [
        ...EDGES.map((e) => `${e}:${ports(e).HERALD_EDGE_METRICS_PORT}`),
        ...WORKERS.map((w) => `${w}:${ports(w).HERALD_METRICS_PORT}`),
      ].sort(),
    );
    expect(prom.rule_files).toEqual(["/etc/prometheus/rules/*.yml"]);
    for (const v of (services.prometheus as Obj).volumes as string[]) {
      const [host] = v.split(":");
      if (host?.startsWith(".")) expect(() => read(join("infra", host)), v).not.toThrow();
    }
  });
});

/** A Dockerfile's instructions: [keyword, arguments], continuation lines joined, comments dropped. */
function instructions(text: string): [string, string][] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [keyword = "", ...rest] = l.split(/\s+/);
      return [keyword.toUpperCase(), rest.join(" ")];
    });
}

/** What hadolint's main rules would say of one instruction (DL3020, DL3007, DL3008, DL3009, DL3015, DL3003). */
function hadolintProblems(keyword: string, args: string): string[] {
  const problems: string[] = [];
  if (keyword === "ADD") problems.push(`ADD instead of COPY: ${args}`);
  if (keyword === "FROM" && /:latest\b/.test(args)) problems.push(`FROM a latest tag: ${args}`);
  if (keyword === "RUN" && /^cd |&& cd /.test(args)) problems.push(`cd in RUN instead of WORKDIR: ${args}`);
  if (keyword !== "RUN" || !/apt-get install/.test(args)) return problems;
  if (!/--no-install-recommends/.test(args)) problems.push("apt-get install without --no-install-recommends");
  if (!/rm -rf \/var\/lib\/apt\/lists/.test(args)) problems.push("apt lists left in the layer");
  const packages = (args.split("install")[1]?.split("&&")[0] ?? "").split(/\s+/).filter((p) => p && !p.startsWith("-"));
  for (const p of packages) if (!p.includes("=")) problems.push(`apt package not pinned: ${p}`);
  return problems;
}

describe("Dockerfile", () => {
  const steps = instructions(read("Dockerfile"));
  const stages = steps.filter(([k]) => k === "FROM").map(([, a]) => a);
  const lastStage = steps.slice(steps.findLastIndex(([k]) => k === "FROM"));
  const arg = (name: string) => steps.find(([k, a]) => k === "ARG" && a.startsWith(`${name}=`))?.[1].split("=")[1];

  it("builds in stages from a pinned Debian Node 20 image (uWS ships glibc binaries for Node 20)", () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(arg("NODE_IMAGE")).toMatch(/^node:20\.\d+\.\d+-bookworm-slim$/);
    for (const from of stages) expect(from).toMatch(/^(\$\{NODE_IMAGE\}|build) AS \w+$/);
  });

  it("compiles with dev dependencies, and runs with production ones only", () => {
    const runs = steps.filter(([k]) => k === "RUN").map(([, a]) => a);
    expect(runs.some((r) => /npm ci(?!.*--omit=dev)/.test(r))).toBe(true);
    expect(runs.some((r) => /npm ci .*--omit=dev/.test(r))).toBe(true);
    expect(lastStage.some(([k, a]) => k === "COPY" && a.startsWith("--from=prod"))).toBe(true);
  });

  it("checks at build time that the uWS native binary loads", () => {
    expect(lastStage.some(([k, a]) => k === "RUN" && /require\('uWebSockets\.js'\).*\.node/.test(a))).toBe(true);
  });

  it("runs as a non-root user, under tini, with nothing to write outside /tmp", () => {
    const user = lastStage.filter(([k]) => k === "USER").at(-1)?.[1];
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    const entrypoint = JSON.parse(lastStage.find(([k]) => k === "ENTRYPOINT")?.[1] ?? "[]") as string[];
    expect(entrypoint.slice(0, 2)).toEqual(["/usr/bin/tini", "--"]);
    expect(entrypoint).toContain("/app/packages/cli/bin/herald.js");
    expect(lastStage.some(([k]) => k === "VOLUME")).toBe(false);
    expect(lastStage.some(([k, a]) => k === "RUN" && /apt-get install .*tini/.test(a))).toBe(true);
  });

  it("follows hadolint's main rules: pinned apt packages without recommends, apt lists removed, no ADD, no latest tag", () => {
    expect(steps.flatMap(([k, a]) => hadolintProblems(k, a))).toEqual([]);
    expect(steps.filter(([k]) => k === "CMD" || k === "ENTRYPOINT").every(([, a]) => a.startsWith("["))).toBe(true);
  });

  it("keeps the build context small with .dockerignore", () => {
    const ignore = read(".dockerignore").split("\n");
    for (const p of ["**/node_modules", "**/dist", ".git"]) expect(ignore).toContain(p);
  });
});
