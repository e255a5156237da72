#!/usr/bin/env node
// The values table of k8s/charts/herald/README.md, generated from values.yaml: one row per
// value, described by the comment above its key (a commented map whose keys carry no
// comments of their own, such as `resources`, is one row).
//
//   node scripts/tools/chart-readme.mjs           rewrites the table between the markers
//   node scripts/tools/chart-readme.mjs --check   exits 1 if a value has no comment or the table is stale
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isMap, parseDocument } from "yaml";

const chart = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "k8s", "charts", "herald");
const START = "<!-- values:start -->";
const END = "<!-- values:end -->";

/** Rows [key, default, description] and the keys that have no description. */
export function valuesRows(text) {
  const doc = parseDocument(text);
  const rows = [];
  const undocumented = [];
  const walk = (map, prefix) => {
    map.items.forEach((pair, i) => {
      const key = `${prefix}${pair.key.value}`;
      const comment = (pair.key.commentBefore ?? (i === 0 ? map.commentBefore : undefined) ?? "").trim();
      const value = pair.value;
      const nested = isMap(value) && value.items.length > 0;
      const childrenDocumented =
        nested && value.items.some((p, j) => p.key.commentBefore || (j === 0 && value.commentBefore));
      if (nested && (childrenDocumented || !comment)) {
        walk(value, `${key}.`);
        return;
      }
      if (!comment) undocumented.push(key);
      rows.push([key, JSON.stringify(value?.toJSON?.() ?? value ?? null), comment.replace(/\s*\n\s*/g, " ")]);
    });
  };
  walk(doc.contents, "");
  return { rows, undocumented };
}

const cell = (s) => s.replaceAll("|", "\\|");
export function valuesTable(text) {
  const { rows } = valuesRows(text);
  return [
    "| value | default | meaning |",
    "| --- | --- | --- |",
    ...rows.map(([k, d, m]) => `| \`${k}\` | \`${cell(d)}\` | ${cell(m)} |`),
  ].join("\n");
}

/** A markdown table's rows as trimmed cells, padding ignored (Biome aligns the columns). */
export const tableCells = (md) =>
  md
    .split("\n")
    .filter((l) => l.startsWith("|") && !/^\|[\s|:-]+\|$/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const values = readFileSync(join(chart, "values.yaml"), "utf8");
  const readmePath = join(chart, "README.md");
  const readme = readFileSync(readmePath, "utf8");
  const [before, rest] = readme.split(START);
  const after = rest?.split(END)[1];
  if (after === undefined) {
    console.error(`${readmePath}: no ${START} … ${END} markers`);
    process.exit(1);
  }
  const table = valuesTable(values);
  const { undocumented } = valuesRows(values);
  if (process.argv.includes("--check")) {
    const current = rest.split(END)[0];
    const stale = JSON.stringify(tableCells(current)) !== JSON.stringify(tableCells(table));
    if (undocumented.length) console.error(`values without a comment in values.yaml: ${undocumented.join(", ")}`);
    if (stale)
      console.error("k8s/charts/herald/README.md: the values table is stale; run node scripts/tools/chart-readme.mjs");
    process.exit(undocumented.length || stale ? 1 : 0);
  }
  writeFileSync(readmePath, `${before}${START}\n\n${table}\n\n${END}${after}`);
  console.log(`wrote ${valuesRows(values).rows.length} values into ${readmePath}`);
}
