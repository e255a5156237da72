// What the chaos run records about a loss, beyond the ledger's count: what the AOF of a killed
// Redis holds, and a lost message's story (its times, its history entry, its client's edge).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { userChannel } from "@herald/protocol";
import { Keys } from "@herald/redis";

/**
 * Whether the AOF in `dir` holds an id, as it stands now (Redis 7's multi-part AOF: every file
 * of its appendonlydir). Any 13-character base-36 word counts: a job's data, a history entry.
 */
export function aofReader(dir) {
  const parts = join(dir, "appendonlydir");
  const ids = new Set();
  for (const f of readdirSync(parts)) {
    for (const [w] of readFileSync(join(parts, f), "latin1").matchAll(/(?<![0-9a-z])[0-9a-z]{13}(?![0-9a-z])/g))
      ids.add(w);
  }
  return (id) => ids.has(id);
}

/**
 * A lost message, in words and as data: its times against the fault before it, whether Redis
 * kept it in its user's history (it was published), and the client's edge: when that edge's bus
 * subscriber came back (what was published to the edge before that went nowhere).
 */
export async function explainLoss(m, r, { faults, clients, started, prefix, runEnd, t0 }) {
  const f = faults.findLast((x) => x.at <= m.postStart) ?? { name: "start", at: 0 };
  const rel = (t) => (t === undefined ? "?" : `${t - f.at >= 0 ? "+" : ""}${((t - f.at) / 1000).toFixed(3)} s`);
  const client = clients[m.client];
  const i = client.opens.findLastIndex((t) => t <= (m.acceptedAt ?? m.postStart));
  const edgePort = client.openPorts[i];
  const edge = started.find((p) => p.role === "edge" && p.port === edgePort);
  const resubscribed = (edge?.logs ?? [])
    .filter((l) => l.msg.startsWith("bus subscriber reconnected"))
    .map((l) => ({ lane: l.lane, at: Date.parse(l.time) - t0 }));
  const history = await r.lrange(new Keys(prefix).history(userChannel(client.user)), 0, -1).catch(() => []);
  const inHistory = history.some((e) => e.startsWith(`${m.id}\t`));
  const detail = {
    ...m,
    fault: f.name,
    inHistory,
    edgePort,
    edgeNode: edge?.logs[0]?.node,
    clientOpens: client.opens,
    clientCloses: client.closes,
    resubscribed,
  };
  const text =
    `#${m.seq} to ${client.user} (id ${m.id}), after "${f.name}": posted ${rel(m.postStart)}, id reserved ${rel(m.reservedAt)}, ` +
    `answered ${rel(m.acceptedAt)}; in ${client.user}'s history: ${inHistory ? "yes" : "no"}; ${client.user} on ` +
    `${detail.edgeNode ?? "?"} from ${rel(client.opens[i])} (closed after: ${
      client.closes
        .filter((t) => t >= client.opens[i] && t < runEnd) // not the run's own stop
        .map(rel)
        .join(", ") || "never"
    })` +
    (resubscribed.length
      ? `; that edge's bus subscriber came back ${resubscribed.map((x) => `${rel(x.at)} (${x.lane})`).join(", ")}`
      : "");
  return { text, detail };
}
