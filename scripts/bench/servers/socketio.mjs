// Socket.IO with @socket.io/redis-adapter: the usual way to scale it over several nodes.
// Every node joins each socket to its user's room and its topic's room; the publishing
// node emits to a room and the adapter carries it to the other nodes through Redis.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { pace, payload } from "./pacer.mjs";

const require = createRequire(new URL("../../../.bench-peers/package.json", import.meta.url));
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { Redis } = require("ioredis");

const pub = new Redis(process.env.REDIS_URL);
const sub = pub.duplicate();
const http = createServer();
const io = new Server(http, { transports: ["websocket"], adapter: createAdapter(pub, sub) });
const users = [];
io.on("connection", (socket) => {
  const { user, room } = socket.handshake.auth ?? {};
  if (user) {
    socket.join(`u:${user}`);
    users.push(user);
  }
  if (room) socket.join(room);
});
http.listen(0, "127.0.0.1", () => process.send({ type: "listening", port: http.address().port }));

process.on("message", async (m) => {
  if (m.cmd === "broadcast") {
    const sent = await pace(m.rate, m.seconds, (n, at) => {
      for (let i = 0; i < n; i++) io.to(m.topic).emit("m", JSON.parse(payload(m.size, at + i)));
    });
    process.send({ type: "done", sent });
  } else if (m.cmd === "targeted") {
    const ids = m.users;
    const sent = await pace(m.rate, m.seconds, (n, at) => {
      for (let i = 0; i < n; i++)
        io.to(`u:${ids[(Math.random() * ids.length) | 0]}`).emit("m", JSON.parse(payload(m.size, at + i)));
    });
    process.send({ type: "done", sent });
  }
});
