// Herald's producers, as a separate load-generator process: the Node SDK, or the HTTP API
// with up to 100 messages a request. Counts what Herald accepted (202 / resolved sends).
import { Agent, request } from "node:http";
import { HeraldProducer } from "@herald/producer";
import { pace } from "./pacer.mjs";

const { REDIS_URL, HERALD_PREFIX, HTTP_PORTS, API_KEY } = process.env;
const ports = (HTTP_PORTS ?? "").split(",").filter(Boolean);
const pad = (size) => "x".repeat(Math.max(0, size - 120));

function message(m, n) {
  const to =
    m.target === "broadcast"
      ? { broadcast: true }
      : m.target === "topic"
        ? { channel: m.topic }
        : { user: m.users[(Math.random() * m.users.length) | 0] };
  return { to, event: "bench", priority: m.priority ?? "normal", data: { n, pad: pad(m.size) } };
}

// node:http on kept-alive connections, not fetch: fetch spent about three times the CPU per
// request here, CPU the load generator takes from the system under test on a shared machine.
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const headers = { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" };

/** POSTs a body to /v1/messages; resolves with the status once the answer was read. */
function post(port, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/messages",
        method: "POST",
        agent,
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume(); // the ids are not needed: the status says accepted or not
        res.on("end", () => resolve(res.statusCode));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

let stopped = false;
process.on("message", async (m) => {
  if (m.cmd === "stop") stopped = true;
  if (m.cmd !== "run") return;
  stopped = false;
  let accepted = 0;
  let refused = 0;
  const inflight = new Set();
  const track = (p) => {
    inflight.add(p);
    p.finally(() => inflight.delete(p));
  };
  let producer;
  if (m.via === "sdk") {
    producer = new HeraldProducer({
      redisUrl: REDIS_URL,
      cluster: process.env.HERALD_REDIS_CLUSTER === "1",
      prefix: HERALD_PREFIX,
      ...(m.batch ? { maxBatch: m.batch } : {}), // the SDK's default unless a scenario sets it
      capacity: Number(process.env.HERALD_QUEUE_CAPACITY ?? 10_000),
    });
  }
  let nextPort = 0;
  const sendHttp = (messages) =>
    post(ports[nextPort++ % ports.length], JSON.stringify({ messages })).then(
      (status) => {
        if (status === 202) accepted += messages.length;
        else refused += messages.length;
      },
      () => (refused += messages.length),
    );
  const started = Date.now();
  const limit = m.limit ?? Number.POSITIVE_INFINITY;
  const offered = await pace(m.rate, m.seconds, (n, at) => {
    n = Math.min(n, limit - at);
    if (n <= 0 || stopped) return false;
    if (inflight.size > (m.maxInflight ?? 20_000)) {
      refused += n; // the producer is saturated: count it rather than queue without bound
      return;
    }
    if (m.via === "sdk") {
      for (let i = 0; i < n; i++) {
        track(
          producer.send(message(m, at + i)).then(
            () => accepted++,
            () => refused++,
          ),
        );
      }
    } else {
      for (let i = 0; i < n; i += 100) {
        track(sendHttp(Array.from({ length: Math.min(100, n - i) }, (_, j) => message(m, at + i + j))));
      }
    }
  });
  await Promise.allSettled([...inflight]);
  await producer?.close();
  process.send({ type: "done", offered, accepted, refused, ms: Date.now() - started });
});
process.send({ type: "started" });
process.on("SIGTERM", () => process.exit(0));
