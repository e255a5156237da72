// Reconnect storm: N users connected to one edge (one connection each) and caught up, then
// all disconnected; M messages are sent to each user while they are away (through the SDK,
// each user's in order), then every client reconnects at once with ?since=<the last id it
// saw>. Measured: the time from the storm's start until each client is live again and holds
// its M missed messages. The client processes check every message (its id and its per-user
// sequence number): exactly the M missed, in order, none twice, no history_gap. Then one
// more message to each user, live, checks that replay and live stream met.
//   BENCH_RECONNECT_CLIENTS (10,000)   BENCH_RECONNECT_MISSED (10)
//   BENCH_RECONNECT_CONCURRENCY (1,000): connects in flight per load-generator process (two
//   processes), as many clients as the generator keeps dialling at once
//   BENCH_RECONNECT_LIVE_RATE (0): messages/s sent during the storm too, one to each user in
//   turn (rounds of one each), so replays meet live deliveries; every seq is then checked
import { HeraldProducer } from "@herald/producer";
import { Fleet } from "../lib/fleet.mjs";
import { otherLoad, waitQuiet } from "../lib/quiet.mjs";
import { SYSTEMS } from "../lib/systems.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const env = (name, fallback) => Number(process.env[name] ?? fallback);

/** The q-th percentile (0–100) of sorted times over `total` clients; null when not every client got there. */
function at(sorted, total, q) {
  const i = Math.max(1, Math.ceil((q / 100) * total)) - 1;
  return i < sorted.length ? sorted[i] : null;
}

const CURVE = [10, 50, 90, 99, 100];

export default async function reconnect({ systems, log, clients, missed, concurrency, liveRate }) {
  const rows = [];
  if (!systems.includes("herald")) return rows;
  const users = clients ?? env("BENCH_RECONNECT_CLIENTS", 10_000);
  const count = missed ?? env("BENCH_RECONNECT_MISSED", 10);
  const inFlight = concurrency ?? env("BENCH_RECONNECT_CONCURRENCY", 1000);
  const duringRate = liveRate ?? env("BENCH_RECONNECT_LIVE_RATE", 0);
  const sys = await SYSTEMS.herald({ via: "sdk" });
  const fleet = await Fleet.start(2);
  const producer = new HeraldProducer({
    redisUrl: sys.env.REDIS_URL,
    prefix: sys.env.HERALD_PREFIX,
    capacity: Number(sys.env.HERALD_QUEUE_CAPACITY),
  });
  const ids = Array.from({ length: users }, (_, i) => `u${i}`);
  const parts = fleet.deal(ids);
  const metric = async (name) => {
    const text = await (await fetch(`http://127.0.0.1:${sys.ports[0]}/metrics`)).text();
    return text
      .split("\n")
      .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
  };
  /** One message to every user, data.seq = seq; resolves once all are accepted. */
  const round = (seq) => {
    const sends = [];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      sends.push(producer.sendMany(chunk.map((user) => ({ to: { user }, event: "bench", data: { seq } }))));
    }
    return Promise.all(sends);
  };
  /** Waits until every client has seen seq `through` (or the timeout); resolves with how many have. */
  const reached = async (through, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const replies = await fleet.ask({ cmd: "track-status", through }, "track-status");
      const n = replies.reduce((s, r) => s + r.reached, 0);
      if (n === users || Date.now() > deadline) return { n, anomalies: merge(replies.map((r) => r.anomalies)) };
      await sleep(50);
    }
  };
  try {
    const opening = Date.now();
    const ready = await fleet.ask(
      { cmd: "track-open", ports: sys.ports, secret: sys.secret, concurrency: 64 },
      "track-ready",
      { each: (i) => ({ users: parts[i] }) },
    );
    const opened = ready.reduce((s, r) => s + r.opened, 0);
    if (opened < users) throw new Error(`only ${opened} of ${users} clients connected`);
    const connectSeconds = (Date.now() - opening) / 1000;
    // Each client sees one message live: the id it will resume from.
    await round(0);
    const first = await reached(0, 60_000);
    if (first.n < users) throw new Error(`only ${first.n} of ${users} clients got their first message`);
    await fleet.ask({ cmd: "track-close" }, "track-closed");
    for (let i = 0; i < 100 && (await metric("herald_connections")) > 0; i++) await sleep(100);
    // Away: `count` messages to each, round after round (each user's in order), all published.
    const sending = Date.now();
    for (let seq = 1; seq <= count; seq++) await round(seq);
    for (let i = 0; i < 600 && (await sys.pending()) > 0; i++) await sleep(100);
    const sendSeconds = (Date.now() - sending) / 1000;
    const replayedBefore = await metric("herald_replayed_total");

    // The machine is shared: start the storm when other processes are quiet, and report what they used during it.
    const quiet = await waitQuiet({ timeoutMs: 60_000 });
    const other = otherLoad();
    const t0 = Date.now();
    let stormOver = false;
    let liveRounds = 0;
    const during = (async () => {
      while (duringRate > 0 && !stormOver) {
        const next = Date.now() + (users / duringRate) * 1000;
        await round(count + 1 + liveRounds++);
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
    const storm = await fleet.ask(
      { cmd: "track-resume", through: count, concurrency: inFlight, t0, timeoutMs: 60_000 },
      "track-resumed",
      { timeoutMs: 180_000 },
    );
    const otherCores = other();
    stormOver = true;
    await during;
    const welcome = storm.flatMap((r) => r.welcome).sort((a, b) => a - b);
    const complete = storm.flatMap((r) => r.complete).sort((a, b) => a - b);
    const replayed = (await metric("herald_replayed_total")) - replayedBefore;
    const atStorm = merge(storm.map((r) => r.anomalies));

    // Live again: one more message each must arrive right after the replay (and what came live during it).
    const last = count + 1 + liveRounds;
    await round(last);
    const live = await reached(last, 30_000);
    await sleep(1000); // anything late (a duplicate) arrives within this
    const final = (await reached(last, 0)).anomalies;

    const row = {
      scenario: "reconnect",
      system: sys.name,
      key: "herald",
      clients: users,
      missed: count,
      concurrency: inFlight * fleet.children.length,
      liveDuring: liveRounds * users,
      otherCores,
      connectSeconds,
      sendSeconds,
      welcomed: welcome.length,
      completed: complete.length,
      incomplete: storm.reduce((s, r) => s + r.incomplete, 0),
      incompleteSamples: storm.flatMap((r) => r.incompleteSamples),
      failed: storm.reduce((s, r) => s + r.failed, 0),
      welcomeMs: Object.fromEntries(CURVE.map((q) => [`p${q}`, at(welcome, users, q)])),
      completeMs: Object.fromEntries(CURVE.map((q) => [`p${q}`, at(complete, users, q)])),
      replayed,
      liveAfter: live.n,
      anomaliesAtStorm: atStorm,
      anomalies: final,
    };
    rows.push(row);
    if (liveRounds) log(`  ${liveRounds * users} messages sent live during the storm (${duringRate}/s)`);
    const curve = CURVE.map((q) => `${q}% ${fmtMs(row.completeMs[`p${q}`])}`).join(", ");
    log(
      `reconnect ${users} clients (${inFlight * fleet.children.length} connects in flight), ${count} missed each: complete at ${curve}; welcome p50 ${fmtMs(row.welcomeMs.p50)} p100 ${fmtMs(row.welcomeMs.p100)}`,
    );
    log(
      `  ${row.completed}/${users} complete, ${row.failed} failed to connect, ${replayed} replayed (expected ${users * count}), live message after: ${live.n}/${users}; ` +
        `duplicates ${final.duplicates}, missing ${final.missing}, out of order ${final.outOfOrder}, errors ${final.errors}, foreign ${final.foreign}, closed ${final.closed}` +
        ` (initial connect ${connectSeconds.toFixed(2)} s, sending ${users * count} ${sendSeconds.toFixed(2)} s;` +
        ` other work ${quiet.cores.toFixed(2)} cores before the storm, ${otherCores.toFixed(2)} during it)`,
    );
    for (const s of [...final.samples, ...row.incompleteSamples]) log(`  ${s}`);
  } catch (err) {
    log(`reconnect ${sys.name}: FAILED ${err.message}`);
    rows.push({ scenario: "reconnect", system: sys.name, key: "herald", clients: users, error: err.message });
  } finally {
    await producer.close();
    await fleet.stop();
    await sys.stop();
  }
  return rows;
}

const fmtMs = (ms) => (ms === null ? "not reached" : `${(ms / 1000).toFixed(2)} s`);

function merge(list) {
  const out = { duplicates: 0, missing: 0, outOfOrder: 0, errors: 0, foreign: 0, closed: 0, samples: [] };
  for (const a of list) {
    for (const k of Object.keys(out)) {
      if (k === "samples") out.samples.push(...a.samples);
      else out[k] += a[k];
    }
  }
  out.samples = out.samples.slice(0, 10);
  return out;
}
