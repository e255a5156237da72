#!/usr/bin/env node
// What one idle connection costs in an edge's JS heap: heap snapshots of the edge before and
// after N connections (a snapshot collects garbage first, so only live objects count), and
// the difference per connection by object kind. RSS per connection, which adds uWS's native
// memory and V8's own growth, is the connections scenario's figure (npm run bench).
// Usage: node scripts/bench/heap-per-connection.mjs [--connections 10000] [--top 12]
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Fleet } from "./lib/fleet.mjs";
import { numberOption } from "./lib/options.mjs";
import { SYSTEMS } from "./lib/systems.mjs";

const n = numberOption("connections", 10_000);
const dir = mkdtempSync(join(tmpdir(), "herald-heap-"));
const sys = await SYSTEMS.herald({
  env: { HERALD_HEARTBEAT_SECONDS: "8" },
  edgeNodeArgs: ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`],
  graceful: true,
});
const fleet = await Fleet.start(2);
const snapshot = async (count) => {
  process.kill(sys.pids[0], "SIGUSR2");
  for (let i = 0; i < 300 && readdirSync(dir).filter((f) => f.endsWith(".heapsnapshot")).length < count; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 2000)); // the file is complete once written; give it time
};
try {
  await new Promise((r) => setTimeout(r, 1000));
  await snapshot(1);
  const users = Array.from({ length: n }, (_, i) => `h${i}`);
  const opened = await fleet.open(
    { protocol: "herald", ports: sys.ports, secret: sys.secret, concurrency: 128 },
    users,
  );
  await snapshot(2);
  const [before, after] = readdirSync(dir)
    .filter((f) => f.endsWith(".heapsnapshot"))
    .sort()
    .map((f) => heapBySort(JSON.parse(readFileSync(join(dir, f), "utf8"))));
  let total = 0;
  const rows = [];
  for (const [key, v] of after) {
    const b = before.get(key) ?? { size: 0, count: 0 };
    total += v.size - b.size;
    rows.push({ key, bytes: (v.size - b.size) / opened.opened, objects: (v.count - b.count) / opened.opened });
  }
  console.log(`${opened.opened} connections: ${(total / opened.opened).toFixed(0)} B of live JS heap each`);
  for (const r of rows.sort((a, b) => b.bytes - a.bytes).slice(0, numberOption("top", 12))) {
    console.log(`  ${r.bytes.toFixed(1).padStart(7)} B  ${r.objects.toFixed(2).padStart(5)} objects  ${r.key}`);
  }
} finally {
  await fleet.stop();
  await sys.stop();
}
process.exit(0);

/** Self size and count per (type, name) over a V8 heap snapshot. */
function heapBySort(snap) {
  const { node_fields: fields, node_types: types } = snap.snapshot.meta;
  const [typeNames] = types;
  const width = fields.length;
  const ti = fields.indexOf("type");
  const ni = fields.indexOf("name");
  const si = fields.indexOf("self_size");
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = typeNames[snap.nodes[i + ti]];
    const name = type.includes("string") ? "(string)" : snap.strings[snap.nodes[i + ni]].slice(0, 50);
    const key = `${type} ${name}`;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += snap.nodes[i + si];
    e.count++;
    out.set(key, e);
  }
  return out;
}
