#!/usr/bin/env node
// Keeps the architecture as docs/architecture.md draws it, and fails `npm run check` otherwise:
// - the package graph points one way: every @herald import (static or dynamic `import()`, in
//   code and tests) must be declared in package.json and allowed below; tests may also use the testkit;
// - no relative import reaches into another package (only its `exports` map);
// - SDKs stay free of server-only dependencies;
// - only the config module reads the environment (`process.env` appears in the CLI's entry
//   points alone, which hand it to the config), outside test support;
// - no error is swallowed with an empty handler (`() => undefined` as a catch or error listener).
// Exits non-zero, listing each violation.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** Which workspace packages each package may import. */
const ALLOWED = {
  protocol: [],
  routing: ["protocol"],
  observability: [],
  redis: ["protocol", "routing"],
  jobs: ["protocol", "redis"],
  edge: ["protocol", "routing", "jobs", "observability"],
  worker: ["protocol", "routing", "redis", "jobs", "observability"],
  producer: ["protocol", "redis", "jobs"],
  cli: ["protocol", "routing", "redis", "jobs", "observability", "edge", "worker", "client"],
  testkit: ["protocol", "routing", "redis"],
  client: [],
};
/** Packages libraries embedded in other people's services must not drag in. */
const SDK_FORBIDDEN = {
  producer: ["pino", "prom-client", "uWebSockets.js"],
  protocol: ["ioredis", "bullmq", "pino"],
  routing: ["ioredis", "bullmq", "pino"],
};
/** Where `process.env` may be read: the CLI's entry points, and test support. */
const ENV_READERS = ["packages/cli/src/config/", "packages/cli/src/main.ts", "packages/cli/bin/herald.js"];
const SWALLOWED = [
  /\.catch\(\s*\(\)\s*=>\s*(undefined|\{\s*\})\s*\)/,
  /\.on\(\s*"error",\s*\(\)\s*=>\s*(undefined|\{\s*\})\s*\)/,
];

const root = new URL("..", import.meta.url).pathname;
const problems = [];
const files = (dir) =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|js|mjs)$/.test(f) ? [p] : [];
  });
const dirsOf = (pkg) => ["src", "test", "bin"].map((d) => join(root, "packages", pkg, d)).filter((d) => exists(d));
const exists = (p) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

for (const pkg of readdirSync(join(root, "packages"))) {
  const allowed = ALLOWED[pkg];
  if (!allowed) {
    problems.push(`packages/${pkg}: not listed in scripts/check-deps.mjs`);
    continue;
  }
  const manifest = JSON.parse(readFileSync(join(root, "packages", pkg, "package.json"), "utf8"));
  const declared = Object.keys({ ...manifest.dependencies });
  for (const dep of declared) {
    if (dep.startsWith("@herald/") && !allowed.includes(dep.slice(8))) problems.push(`${pkg} depends on ${dep}`);
    if (SDK_FORBIDDEN[pkg]?.includes(dep)) problems.push(`${pkg} (an SDK) depends on ${dep}`);
  }
  for (const file of dirsOf(pkg).flatMap(files)) {
    const rel = file.slice(root.length);
    const isTest = /\.test\.ts$/.test(file) || rel.includes("/test/");
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:from\s+|import\(\s*)"(@herald\/[a-z-]+)/g)) {
      const dep = m[1].slice(8);
      if (dep === pkg || (isTest && dep === "testkit")) continue;
      if (!allowed.includes(dep)) problems.push(`${rel} imports @herald/${dep}`);
      else if (!declared.includes(m[1])) problems.push(`${rel} imports undeclared @herald/${dep}`);
    }
    if (/(?:from\s+|import\(\s*)"(\.\.\/){2,}(?!\.\.)[a-z-]+\/(src|dist)\//.test(text)) {
      problems.push(`${rel} imports another package's files; import it through its exports`);
    }
    if (pkg !== "testkit" && !isTest && text.includes("process.env") && !ENV_READERS.some((r) => rel.startsWith(r))) {
      problems.push(`${rel} reads process.env: only the config module reads the environment`);
    }
    if (!isTest && SWALLOWED.some((re) => re.test(text))) {
      problems.push(`${rel} swallows an error with an empty handler: log it, count it, or say why it is safe`);
    }
  }
}
if (problems.length) {
  console.error(`architecture check failed:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`architecture ok (${Object.keys(ALLOWED).length} packages)`);
