// A load-generator process: opens many lean WebSocket connections for one protocol,
// waits until each is live, then counts message frames and records their latency
// (now - the message's "ts") in an HDR histogram. Driven by its parent over IPC:
//   {cmd:"open", protocol, port(s), users, subscribe, secret?, appKey?}  -> {type:"ready", opened, ms}
//   {cmd:"reset"} -> zero counters;  {cmd:"report"} -> {type:"report", frames, hist}
//   {cmd:"exit"}
// Tracked connections (Herald only, the reconnect scenario), each checking every message's
// id and sequence number (its data.seq, counted per user from 0):
//   {cmd:"track-open", users, ports, secret}  -> {type:"track-ready", opened, failed}
//   {cmd:"track-status", through}  -> {type:"track-status", reached, anomalies}  (reached: users whose seq `through` came)
//   {cmd:"track-close"}  -> {type:"track-closed"}
//   {cmd:"track-resume", through, concurrency, t0}  -> {type:"track-resumed", welcome[], complete[], failed, anomalies}
//     reconnects every user with ?since=<last id it saw>; times are ms since t0 (the parent's clock)

import { signToken } from "@herald/testkit";
import * as hdr from "hdr-histogram-js";
import { openSocket, readTs } from "./lean-client.mjs";

let frames = 0;
// Latencies are whole milliseconds (the messages' ts is ms since the epoch), so a count per
// ms is an exact histogram and costs one increment; it becomes an HDR histogram at report.
const MAX_MS = 600_000;
const counts = new Uint32Array(MAX_MS + 1);
/** Critical messages get their own counts, for the priority-under-flood scenario. */
const criticalCounts = new Uint32Array(MAX_MS + 1);
const toHdr = (c) => {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000,
    numberOfSignificantValueDigits: 3,
  });
  for (let ms = 0; ms <= MAX_MS; ms++) if (c[ms]) h.recordValueWithCount(ms + 1, c[ms]); // +1: a bucket for "under 1 ms"
  return hdr.encodeIntoCompressedBase64(h);
};
const CRITICAL = Buffer.from('"priority":"critical"');
const sockets = [];
let trackCritical = false;

function onText(buf, start, end) {
  const ts = readTs(buf, start, end);
  if (ts < 0) return false;
  frames++;
  const latency = Math.min(MAX_MS, Math.max(0, Date.now() - ts));
  counts[latency]++;
  if (trackCritical && buf.subarray(start, end).includes(CRITICAL)) criticalCounts[latency]++;
  return true;
}

/** Per protocol: the path to connect to, the frames to send once connected, and what "live" looks like. */
const PROTOCOLS = {
  async herald({ user, subscribe, secret }) {
    const claims = subscribe ? { channels: [subscribe] } : {};
    const token = await signToken(secret, user, claims, "2h");
    return {
      path: `/v1/ws?token=${token}`,
      onOpen: (c) => subscribe && c.sendText(JSON.stringify({ type: "subscribe", channel: subscribe })),
      live: subscribe ? '"subscribed"' : '"welcome"',
    };
  },
  async raw({ user, subscribe }) {
    return { path: `/?user=${encodeURIComponent(user)}&topic=${subscribe ?? ""}`, live: '"welcome"' };
  },
  async socketio({ user, subscribe }) {
    return {
      path: "/socket.io/?EIO=4&transport=websocket",
      onOpen: (c) => c.sendText(`40${JSON.stringify({ user, room: subscribe ?? "" })}`),
      live: "40{",
      // engine.io heartbeat: the server sends "2", the client must answer "3"
      control: (c, text) => text === "2" && c.sendText("3"),
    };
  },
  async soketi({ subscribe, appKey }) {
    return {
      path: `/app/${appKey}?protocol=7&client=js&version=8.0.0`,
      onOpen: () => undefined,
      afterWelcome: (c) => c.sendText(JSON.stringify({ event: "pusher:subscribe", data: { channel: subscribe } })),
      welcome: "pusher:connection_established",
      live: "pusher_internal:subscription_succeeded",
    };
  },
};

async function openOne(p, port) {
  let resolveLive;
  const live = new Promise((r) => (resolveLive = r));
  let isLive = false;
  const client = await openSocket({
    port,
    path: p.path,
    onText(buf, start, end, client) {
      if (isLive && onText(buf, start, end)) return;
      const text = buf.toString("utf8", start, end);
      if (p.control?.(client, text)) return;
      if (p.welcome && text.includes(p.welcome)) p.afterWelcome(client);
      if (!isLive && text.includes(p.live)) {
        isLive = true;
        resolveLive();
      }
    },
  });
  p.onOpen?.(client);
  await live;
  return client;
}

process.on("message", async (m) => {
  if (m.cmd === "open") {
    trackCritical = Boolean(m.trackCritical);
    // Tokens are minted before the clock starts: a real client arrives with its token, and the
    // server's connect rate should not include the load generator's signing.
    const specs = await Promise.all(m.users.map((user) => PROTOCOLS[m.protocol]({ ...m, user })));
    const started = Date.now();
    const ports = m.ports ?? [m.port];
    const concurrency = m.concurrency ?? 64;
    let next = 0;
    let failed = 0;
    const workers = Array.from({ length: concurrency }, async () => {
      while (next < m.users.length) {
        const i = next++;
        try {
          const port = ports[i % ports.length];
          const client = await openOne(specs[i], port);
          client.reopen = () => openOne(specs[i], port);
          sockets.push(client);
        } catch (err) {
          failed++;
          if (failed <= 3) process.stderr.write(`fleet: connect failed: ${err.message}\n`);
        }
      }
    });
    await Promise.all(workers);
    process.send({ type: "ready", opened: sockets.length, failed, ms: Date.now() - started });
  } else if (m.cmd === "reset") {
    frames = 0;
    counts.fill(0);
    criticalCounts.fill(0);
    process.send({ type: "reset" });
  } else if (m.cmd === "count") {
    process.send({ type: "count", frames });
  } else if (m.cmd === "report") {
    process.send({
      type: "report",
      frames,
      hist: toHdr(counts),
      critical: toHdr(criticalCounts),
    });
  } else if (m.cmd === "churn") {
    // Closes `count` connections and opens them again (same users), as clients that come and go.
    let churned = 0;
    for (let k = 0; k < m.count && sockets.length > 0; k++) {
      const at = Math.floor(Math.random() * sockets.length);
      const old = sockets[at];
      old.close();
      try {
        const fresh = await old.reopen();
        fresh.reopen = old.reopen;
        sockets[at] = fresh;
        churned++;
      } catch (err) {
        process.stderr.write(`fleet: reconnect failed: ${err.message}\n`);
      }
    }
    process.send({ type: "churned", churned });
  } else if (m.cmd?.startsWith("track-")) {
    await tracking(m);
  } else if (m.cmd === "exit") {
    for (const s of sockets) s.close();
    for (const t of tracked) t.client?.close();
    process.exit(0);
  }
});
process.send({ type: "started" });

/** Tracked connections: one per user, verifying what it receives (see the header). */
const tracked = [];
const anomalies = { duplicates: 0, missing: 0, outOfOrder: 0, errors: 0, foreign: 0, closed: 0, samples: [] };
const anomaly = (kind, t, detail) => {
  anomalies[kind]++;
  if (anomalies.samples.length < 10) anomalies.samples.push(`${kind} ${t.user}: ${detail}`);
};

function onTracked(t, text) {
  let f;
  try {
    f = JSON.parse(text);
  } catch {
    return anomaly("foreign", t, `not JSON: ${text.slice(0, 80)}`);
  }
  if (f.type === "welcome") {
    t.welcomeAt = Date.now();
    if (t.nextSeq > t.through) t.completeAt = t.welcomeAt; // nothing was missed
    t.resolveWelcome?.();
    return;
  }
  if (f.type === "error") return anomaly("errors", t, `${f.code} ${f.message ?? ""}`);
  if (f.type !== "message") return;
  if (f.channel !== `user:${t.user}`) return anomaly("foreign", t, `message on ${f.channel}`);
  t.frame++;
  const first = t.seen.get(f.id);
  if (first !== undefined) {
    const where =
      first.connection === t.generation ? `message #${first.frame} of this connection` : "an earlier connection";
    return anomaly("duplicates", t, `id ${f.id} (seq ${f.data?.seq}) again as message #${t.frame}, first as ${where}`);
  }
  t.seen.set(f.id, { connection: t.generation, frame: t.frame });
  const seq = f.data?.seq;
  if (t.lastId !== undefined && f.id <= t.lastId) anomaly("outOfOrder", t, `id ${f.id} after ${t.lastId}`);
  if (seq > t.nextSeq) anomaly("missing", t, `seq ${t.nextSeq}..${seq - 1} missing before ${seq}`);
  else if (seq < t.nextSeq) anomaly("outOfOrder", t, `seq ${seq} after ${t.nextSeq - 1}`);
  t.nextSeq = Math.max(t.nextSeq, seq + 1);
  t.lastId = t.lastId === undefined || f.id > t.lastId ? f.id : t.lastId;
  if (seq === t.through) t.completeAt = Date.now();
}

function connectTracked(t) {
  const since = t.lastId === undefined ? "" : `&since=${encodeURIComponent(t.lastId)}`;
  const welcome = new Promise((resolve) => (t.resolveWelcome = resolve));
  t.welcomeAt = undefined;
  t.generation = (t.generation ?? 0) + 1;
  const generation = t.generation;
  t.frame = 0; // messages on this connection
  return openSocket({
    port: t.port,
    path: `/v1/ws?token=${t.token}${since}`,
    onText: (buf, start, end) => onTracked(t, buf.toString("utf8", start, end)),
    onClose: () => {
      if (!t.closing && t.generation === generation) anomaly("closed", t, "connection closed by the server");
    },
  }).then(async (client) => {
    t.client = client;
    t.closing = false;
    await welcome;
  });
}

/** Runs `fn` over `items`, at most `concurrency` at a time; resolves with how many failed. */
async function pool(items, concurrency, fn) {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++];
        try {
          await fn(item);
        } catch (err) {
          failed++;
          if (failed <= 3) process.stderr.write(`fleet: connect failed: ${err.message}\n`);
        }
      }
    }),
  );
  return failed;
}

async function tracking(m) {
  if (m.cmd === "track-open") {
    const ports = m.ports ?? [m.port];
    for (const [i, user] of m.users.entries()) {
      const token = await signToken(m.secret, user, {}, "2h");
      tracked.push({ user, token, port: ports[i % ports.length], seen: new Map(), nextSeq: 0, through: -1 });
    }
    const failed = await pool(tracked, m.concurrency ?? 64, connectTracked);
    process.send({ type: "track-ready", opened: tracked.length - failed, failed });
  } else if (m.cmd === "track-status") {
    const reached = tracked.filter((t) => t.nextSeq > m.through).length;
    process.send({ type: "track-status", reached, anomalies });
  } else if (m.cmd === "track-close") {
    for (const t of tracked) {
      t.closing = true;
      t.client?.close();
      t.client = undefined;
    }
    process.send({ type: "track-closed" });
  } else if (m.cmd === "track-resume") {
    for (const t of tracked) {
      t.through = m.through;
      t.completeAt = undefined;
    }
    const failed = await pool(tracked, m.concurrency ?? 64, connectTracked);
    // Connected: now wait (bounded) until every one has its last missed message.
    const deadline = Date.now() + (m.timeoutMs ?? 60_000);
    while (tracked.some((t) => t.client && t.completeAt === undefined) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    process.send({
      type: "track-resumed",
      welcome: tracked.filter((t) => t.welcomeAt !== undefined).map((t) => t.welcomeAt - m.t0),
      complete: tracked.filter((t) => t.completeAt !== undefined).map((t) => t.completeAt - m.t0),
      incomplete: tracked.filter((t) => t.completeAt === undefined).length,
      incompleteSamples: tracked
        .filter((t) => t.completeAt === undefined)
        .slice(0, 10)
        .map((t) => `${t.user}: last seq ${t.nextSeq - 1}${t.welcomeAt === undefined ? ", no welcome" : ""}`),
      failed,
      anomalies,
    });
  }
}
