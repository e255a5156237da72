#!/usr/bin/env node
// Builds the browser bundle: one minified ES module with no imports, dist/herald-client.min.js
// (or the path given as the first argument), and prints its size minified and gzipped.
// Exits 1 when the gzipped size passes the budget.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const BUDGET_BYTES = 6 * 1024;
const dir = new URL("..", import.meta.url).pathname;
const out = process.argv[2] ?? `${dir}dist/herald-client.min.js`;

const result = await build({
  entryPoints: [`${dir}src/index.ts`],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  platform: "neutral",
  write: false,
  legalComments: "none",
});
const code = result.outputFiles[0].contents;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, code);
const gzipped = gzipSync(code, { level: 9 }).length;
console.log(
  JSON.stringify({ file: out, minifiedBytes: code.length, minGzipBytes: gzipped, budgetBytes: BUDGET_BYTES }),
);
if (gzipped > BUDGET_BYTES) {
  console.error(`the browser bundle is ${gzipped} bytes min+gzip, over its budget of ${BUDGET_BYTES}`);
  process.exit(1);
}
