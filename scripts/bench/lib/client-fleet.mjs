// A load-generator process: opens many lean WebSocket connections for one protocol,
// waits until each is live, then counts message frames and records their latency
// (now - the message's "ts") in an HDR histogram. Driven by its parent over IPC:
//   {cmd:"open", protocol, port(s), users, subscribe, secret?, appKey?}  -> {type:"ready", opened, ms}
//   {cmd:"reset"} -> zero counters;  {cmd:"report"} -> {type:"report", frames, hist}
//   {cmd:"exit"}

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
  } else if (m.cmd === "exit") {
    for (const s of sockets) s.close();
    process.exit(0);
  }
});
process.send({ type: "started" });
