#!/usr/bin/env node
// Prints the Markdown tables of a results file, for docs/performance.md.
// Usage: node scripts/bench/tables.mjs docs/bench/full.json
import { readFileSync } from "node:fs";
import { markdownTable } from "./lib/report.mjs";

const file = process.argv[2] ?? new URL("../../docs/bench/quick.json", import.meta.url).pathname;
const data = JSON.parse(readFileSync(file, "utf8"));
for (const [scenario, rows] of Object.entries(data.results)) {
  const when = data.dates?.[scenario] ?? data.date;
  console.log(
    `#### ${scenario} (${data.mode}, ${when?.slice(0, 16).replace("T", " ")} UTC)\n\n${markdownTable(scenario, rows)}\n`,
  );
}
