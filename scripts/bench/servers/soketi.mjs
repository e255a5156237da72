// Soketi 1.6.1 (uWebSockets.js + the Pusher protocol), started as its own process, and a
// publisher that uses its HTTP API as a Pusher backend would (signed batch_events, 10 a request).
import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { freePort } from "@herald/redis";
import { pace, payload } from "./pacer.mjs";

const peers = new URL("../../../.bench-peers/", import.meta.url).pathname;
const APP = { id: "app-id", key: "app-key", secret: "app-secret" };
const port = await freePort();
const env = {
  ...process.env,
  SOKETI_PORT: String(port),
  SOKETI_HOST: "127.0.0.1",
  SOKETI_DEFAULT_APP_ID: APP.id,
  SOKETI_DEFAULT_APP_KEY: APP.key,
  SOKETI_DEFAULT_APP_SECRET: APP.secret,
  SOKETI_METRICS_ENABLED: "false",
  SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC: "-1",
  SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC: "-1",
  SOKETI_DEFAULT_APP_MAX_CONNS: "-1",
};
if (process.env.REDIS_URL) {
  const u = new URL(process.env.REDIS_URL);
  Object.assign(env, {
    SOKETI_ADAPTER_DRIVER: "redis",
    SOKETI_DB_REDIS_HOST: u.hostname,
    SOKETI_DB_REDIS_PORT: u.port,
  });
}
const child = spawn(process.execPath, [`${peers}node_modules/@soketi/soketi/bin/server.js`, "start"], {
  env,
  stdio: "ignore",
});
process.on("exit", () => child.kill("SIGKILL"));
for (let i = 0; i < 200; i++) {
  const ok = await fetch(`http://127.0.0.1:${port}/`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  await new Promise((r) => setTimeout(r, 100));
}
process.send({ type: "listening", port });

async function publish(batch) {
  const path = `/apps/${APP.id}/batch_events`;
  const body = JSON.stringify({ batch });
  const params = `auth_key=${APP.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&body_md5=${createHash("md5").update(body).digest("hex")}`;
  const signature = createHmac("sha256", APP.secret).update(`POST\n${path}\n${params}`).digest("hex");
  const res = await fetch(`http://127.0.0.1:${port}${path}?${params}&auth_signature=${signature}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (!res.ok) throw new Error(`soketi ${res.status}: ${await res.text()}`);
}

process.on("message", async (m) => {
  if (m.cmd === "broadcast") {
    const inflight = new Set();
    let failed = 0;
    const sent = await pace(m.rate, m.seconds, (n, at) => {
      for (let i = 0; i < n; i += 10) {
        const batch = Array.from({ length: Math.min(10, n - i) }, (_, j) => ({
          name: "m",
          channel: m.topic,
          data: payload(m.size, at + i + j),
        }));
        if (inflight.size > 64) {
          failed += batch.length; // the publisher is saturated: count it, do not queue without bound
          continue;
        }
        const p = publish(batch)
          .catch(() => (failed += batch.length))
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
    });
    await Promise.allSettled([...inflight]);
    process.send({ type: "done", sent: sent - failed });
  }
});
