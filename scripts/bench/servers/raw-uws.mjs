// The ceiling of the edge: uWebSockets.js (the same binary Herald uses) with its native
// publish, and direct sends for targeted messages. No queue, no Redis, no auth.
import { createRequire } from "node:module";
import { pace, paceTargeted, payload } from "./pacer.mjs";

const require = createRequire(new URL("../../../packages/edge/package.json", import.meta.url));
const uWS = require("uWebSockets.js");
const users = new Map();

const app = uWS.App().ws("/*", {
  maxBackpressure: 64 * 1024 * 1024,
  idleTimeout: 0,
  upgrade: (res, req, ctx) => {
    const q = new URLSearchParams(req.getQuery());
    res.upgrade(
      { user: q.get("user"), topic: q.get("topic") },
      req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol"),
      req.getHeader("sec-websocket-extensions"),
      ctx,
    );
  },
  open: (ws) => {
    const d = ws.getUserData();
    if (d.topic) ws.subscribe(d.topic);
    users.set(d.user, ws);
    ws.send('{"type":"welcome"}');
  },
  close: (ws) => users.delete(ws.getUserData().user),
});
app.listen("127.0.0.1", 0, (s) => process.send({ type: "listening", port: uWS.us_socket_local_port(s) }));

process.on("message", async (m) => {
  if (m.cmd === "broadcast") {
    const sent = await pace(m.rate, m.seconds, (n, at) => {
      for (let i = 0; i < n; i++) app.publish(m.topic, payload(m.size, at + i));
    });
    process.send({ type: "done", sent });
  } else if (m.cmd === "targeted") {
    process.send({ type: "done", sent: await paceTargeted(m, users) });
  }
});
