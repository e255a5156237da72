// Turns result rows into a text table, a JSON file and an SVG bar chart per scenario.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

const fmt = (n) =>
  n === null || n === undefined ? "—" : typeof n === "number" ? n.toLocaleString("en-US") : String(n);
const secs = (ms) => (ms === null || ms === undefined ? "—" : (ms / 1000).toFixed(2));
const lat = (l) => (l ? `${fmt(l.p50)} / ${fmt(l.p99)} / ${fmt(l.p999)} / ${fmt(l.max)}` : "—");

/** Per scenario: table columns as [header, row => cell]. */
const COLUMNS = {
  broadcast: [
    ["subscribers", (r) => fmt(r.subscribers)],
    ["system", (r) => r.system],
    ["max delivered/s", (r) => fmt(r.maxDelivered)],
    ["at 50%: msgs/s", (r) => fmt(r.halfRateMessages)],
    ["delivered/s", (r) => fmt(r.halfDelivered)],
    ["latency ms p50/p99/p99.9/max", (r) => lat(r.halfLatency)],
  ],
  targeted: [
    ["users", (r) => fmt(r.users)],
    ["system", (r) => r.system],
    ["offered/s", (r) => fmt(r.offered)],
    ["achieved/s", (r) => fmt(r.achieved)],
    ["lost", (r) => (r.lost === null ? `unsettled (${fmt(r.stillQueued)} queued at cut-off)` : fmt(r.lost))],
    ["latency ms p50/p99/p99.9/max", (r) => lat(r.latency)],
  ],
  priority: [
    ["low backlog", (r) => fmt(r.backlog)],
    ["drained in s", (r) => r.drainSeconds?.toFixed(1)],
    ["critical sent", (r) => fmt(r.criticalSent)],
    ["critical latency ms p50/p99/p99.9/max", (r) => lat(r.critical)],
  ],
  connections: [
    ["connections", (r) => fmt(r.connections)],
    ["system", (r) => r.system],
    ["connect s", (r) => r.connectSeconds?.toFixed(2)],
    ["connects/s", (r) => fmt(r.connectPerSecond)],
    ["RSS bytes/conn", (r) => fmt(r.rssBytesPerConnection)],
    ["idle CPU %", (r) => fmt(r.idleCpuPercent)],
  ],
  reconnect: [
    ["clients", (r) => fmt(r.clients)],
    ["missed each", (r) => fmt(r.missed)],
    ...[10, 50, 90, 99, 100].map((q) => [`${q}% complete s`, (r) => secs(r.completeMs?.[`p${q}`])]),
    ["replayed", (r) => fmt(r.replayed)],
    [
      "lost / dup / out of order",
      (r) => `${fmt(r.anomalies?.missing)} / ${fmt(r.anomalies?.duplicates)} / ${fmt(r.anomalies?.outOfOrder)}`,
    ],
  ],
  cluster: [
    ["nodes", (r) => `${r.edges} edge + ${r.workers} worker`],
    ["Redis", (r) => r.redis ?? "standalone"],
    ["offered/s", (r) => fmt(r.offered)],
    ["achieved/s", (r) => fmt(r.achieved)],
    ["lost", (r) => fmt(r.lost)],
    ["latency ms p50/p99/p99.9/max", (r) => lat(r.latency)],
    [
      "cores: edges / workers / Redis / producer",
      (r) => (r.cores ? ["edges", "workers", "redis", "producer"].map((k) => r.cores[k]).join(" / ") : ""),
    ],
    ["Redis CPU µs/msg per server", (r) => r.redisUsPerMessage?.join(" + ") ?? ""],
  ],
};

export function markdownTable(scenario, rows) {
  const cols = COLUMNS[scenario];
  const lines = [`| ${cols.map((c) => c[0]).join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`];
  for (const r of rows) {
    lines.push(r.error ? `| ${r.system ?? ""} | failed: ${r.error} |` : `| ${cols.map((c) => c[1](r)).join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The figure each scenario's chart shows, one bar per row. */
const BAR = {
  broadcast: (r) => [`${r.system} · ${r.subscribers}`, r.maxDelivered, "max delivered frames/s"],
  targeted: (r) => [`${r.system} · ${r.users} users · ${r.offered}/s`, r.achieved, "achieved msgs/s"],
  priority: (r) => [`critical p99 behind ${r.backlog} low`, r.critical?.p99, "ms"],
  connections: (r) => [`${r.system} · ${r.connections}`, r.rssBytesPerConnection, "RSS bytes per idle connection"],
  cluster: (r) => [
    `${r.edges}+${r.workers}${r.redis === "3-master cluster" ? " · Redis Cluster" : ""} · ${r.offered}/s`,
    r.achieved,
    "achieved msgs/s",
  ],
  reconnect: (r) => [
    `${r.system} · ${r.clients} clients · ${r.missed} missed`,
    r.completeMs?.p100,
    "ms until every client is caught up",
  ],
};

export function svgChart(scenario, rows, title) {
  const bars = rows.filter((r) => !r.error).map(BAR[scenario]);
  const unit = bars[0]?.[2] ?? "";
  const max = Math.max(1, ...bars.map((b) => b[1] ?? 0));
  const rowH = 22;
  const labelW = 360;
  const barW = 420;
  const h = 50 + bars.length * rowH + 20;
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const body = bars
    .map(([label, value], i) => {
      const y = 40 + i * rowH;
      const w = Math.max(1, Math.round(((value ?? 0) / max) * barW));
      const color = /Herald/.test(label) ? "#d9480f" : "#495057";
      return `<text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${esc(label)}</text><rect x="${labelW}" y="${y + 2}" width="${w}" height="${rowH - 6}" fill="${color}"/><text x="${labelW + w + 6}" y="${y + 14}">${esc(fmt(value))}</text>`;
    })
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 120}" height="${h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>
<text x="10" y="34" fill="#666">${esc(unit)} (Herald in orange)</text>
${body}
</svg>
`;
}

/** Writes this run's scenarios, keeping the earlier results of scenarios it did not run (each keeps its own date). */
export function writeResults(dir, name, meta, byScenario) {
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/${name}.json`;
  const earlier = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : { results: {}, dates: {} };
  const results = { ...earlier.results, ...byScenario };
  const dates = { ...earlier.dates };
  for (const scenario of Object.keys(byScenario)) dates[scenario] = meta.date;
  writeFileSync(file, `${JSON.stringify({ ...meta, dates, results }, null, 2)}\n`);
  for (const [scenario, rows] of Object.entries(byScenario)) {
    if (rows.length) writeFileSync(`${dir}/${name}-${scenario}.svg`, svgChart(scenario, rows, `${scenario} (${name})`));
  }
}
