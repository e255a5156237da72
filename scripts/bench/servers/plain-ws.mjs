// The `ws` package serving the same messages: a loop over sockets, one send each.
import { createRequire } from "node:module";
import { pace, paceTargeted, payload } from "./pacer.mjs";

const require = createRequire(new URL("../../../.bench-peers/package.json", import.meta.url));
const { WebSocketServer } = require("ws");
const topics = new Map();
const users = new Map();
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("connection", (ws, req) => {
  const q = new URL(req.url, "http://x").searchParams;
  const topic = q.get("topic");
  if (topic) {
    if (!topics.has(topic)) topics.set(topic, new Set());
    topics.get(topic).add(ws);
  }
  users.set(q.get("user"), ws);
  ws.send('{"type":"welcome"}');
  ws.on("close", () => {
    topics.get(topic)?.delete(ws);
    users.delete(q.get("user"));
  });
});
wss.on("listening", () => process.send({ type: "listening", port: wss.address().port }));

process.on("message", async (m) => {
  if (m.cmd === "broadcast") {
    const sent = await pace(m.rate, m.seconds, (n, at) => {
      for (let i = 0; i < n; i++) {
        const data = payload(m.size, at + i);
        for (const ws of topics.get(m.topic) ?? []) ws.send(data);
      }
    });
    process.send({ type: "done", sent });
  } else if (m.cmd === "targeted") {
    process.send({ type: "done", sent: await paceTargeted(m, users) });
  }
});
