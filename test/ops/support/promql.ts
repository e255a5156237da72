import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ROOT } from "./tools.js";

const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan", "Inf", "NaN"]);

/** The metric names a PromQL expression reads (functions, keywords and label names left out). */
export function metricNames(expr: string): string[] {
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ");
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of e.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = e.slice((m.index ?? 0) + m[0].length).trimStart();
    if (after.startsWith("(") || KEYWORDS.has(m[0]) || /^[0-9]/.test(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The rules of a Prometheus rule file (groups format). */
export function ruleFile(path: string): Rule[] {
  const doc = parse(readFileSync(join(ROOT, path), "utf8")) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

/** Every PromQL expression of a Grafana dashboard's panels, with its panel's title. */
export function dashboardExprs(path: string): { title: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(join(ROOT, path), "utf8")) as { panels: Panel[] };
  const walk = (panels: Panel[]): { title: string; expr: string }[] =>
    panels.flatMap((p) => [
      ...(p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })),
      ...walk(p.panels ?? []),
    ]);
  return walk(dash.panels);
}

/** Metric families a Prometheus text exposition declares (`# TYPE name type`), with their types. */
export function exposedFamilies(text: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1] as string, m[2] as string);
  return families;
}

/** Whether `name` is served by one of `families` (a histogram's or summary's series included). */
export function isExposed(name: string, families: Map<string, string>): boolean {
  if (families.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return base !== name && ["histogram", "summary"].includes(families.get(base) ?? "");
}
