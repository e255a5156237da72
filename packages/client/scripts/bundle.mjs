#!/usr/bin/env node
// Builds the browser bundle, dist/herald-client.min.js: one minified ES module with no imports,
// and prints its size minified and gzipped. Fails when that passes the budget.
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

export const BUDGET_BYTES = 6 * 1024;
const dir = new URL("..", import.meta.url).pathname;

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
writeFileSync(`${dir}dist/herald-client.min.js`, code);
const gzipped = gzipSync(code, { level: 9 }).length;
console.log(
  `dist/herald-client.min.js: ${code.length} bytes minified, ${gzipped} bytes min+gzip (budget ${BUDGET_BYTES})`,
);
if (gzipped > BUDGET_BYTES) process.exit(1);
