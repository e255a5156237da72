#!/usr/bin/env node
// Keeps the package graph pointing one way (see README "Layout"): every @herald import
// must be declared in package.json and allowed below; SDKs stay free of server-only
// dependencies. Exits non-zero, listing each violation.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** Which workspace packages each package may import. */
const ALLOWED = {
  protocol: [],
  observability: [],
  redis: ["protocol"],
  jobs: ["protocol", "redis"],
  edge: ["protocol", "redis", "jobs", "observability"],
  worker: ["protocol", "redis", "jobs", "observability"],
  producer: ["protocol", "redis", "jobs"],
  cli: ["protocol", "redis", "jobs", "observability", "edge", "worker"],
  testkit: ["protocol", "redis"],
};
/** Packages libraries embedded in other people's services must not drag in. */
const SDK_FORBIDDEN = { producer: ["pino", "prom-client", "uWebSockets.js"], protocol: ["ioredis", "bullmq", "pino"] };

const root = new URL("..", import.meta.url).pathname;
const problems = [];
const files = (dir) =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(f) ? [p] : [];
  });

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
  for (const file of files(join(root, "packages", pkg, "src"))) {
    if (file.endsWith(".test.ts")) continue;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/from\s+"(@herald\/[a-z-]+)/g)) {
      const dep = m[1];
      if (!allowed.includes(dep.slice(8))) problems.push(`${file.slice(root.length)} imports ${dep}`);
      else if (!declared.includes(dep)) problems.push(`${file.slice(root.length)} imports undeclared ${dep}`);
    }
  }
}
if (problems.length) {
  console.error(`dependency direction violated:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`dependency direction ok (${Object.keys(ALLOWED).length} packages)`);
