#!/usr/bin/env node
// A local Herald cluster for trying things and for benchmarks: several edges (each on its own
// port, as separate machines would be) and workers on one Redis, or on a Redis Cluster.
//   npm run cluster                              2 edges, 2 workers, a private Redis
//   npm run cluster -- --edges 3 --workers 2     any counts
//   npm run cluster -- --redis-cluster           in cluster mode, on a private 3-master Redis Cluster
//   REDIS_URL=redis://… npm run cluster          an existing Redis instead of a private one
//   REDIS_URL=<seeds> npm run cluster -- --redis-cluster   an existing Redis Cluster (comma-separated seeds)
// Prints each edge's URL, a client token and a producer key, then runs until Ctrl-C (or
// SIGTERM), which stops everything it started.
import { randomBytes } from "node:crypto";
import { startLocalCluster, startLocalRedis } from "@herald/redis";
import { signToken, startHerald } from "@herald/testkit";
import { numberOption } from "../bench/lib/options.mjs";
import { stopDescendantsOnExit } from "../bench/lib/stop-descendants.mjs";

stopDescendantsOnExit("cluster");
const EDGES = numberOption("edges", 2);
const WORKERS = numberOption("workers", 2);
const REDIS_CLUSTER = process.argv.includes("--redis-cluster");
const log = (line) => process.stderr.write(`cluster: ${line}\n`);

const given = process.env.REDIS_URL;
const startPrivate = () =>
  REDIS_CLUSTER ? startLocalCluster({ masters: 3, dieWithParent: true }) : startLocalRedis({ dieWithParent: true });
const redis = given ? undefined : await startPrivate();
// Ctrl-C ends in process.exit, after stopDescendantsOnExit's SIGKILLs: only a synchronous
// step runs then, and this one also removes the private servers' temp dir.
process.on("exit", () => redis?.kill());
const redisUrl = given ?? redis.url;
const redisLine = `${redisUrl}${redis ? ` (private${REDIS_CLUSTER ? " 3-master cluster" : ""}, no persistence)` : ""}`;
const secret = randomBytes(24).toString("base64url");
const apiKey = randomBytes(24).toString("base64url");
const env = {
  ...(REDIS_CLUSTER ? { HERALD_REDIS_CLUSTER: "1" } : {}),
  REDIS_URL: redisUrl,
  HERALD_JWT_SECRET: secret,
  HERALD_API_KEYS: apiKey,
  HERALD_PREFIX: process.env.HERALD_PREFIX ?? "herald",
  LOG_LEVEL: "info", // the processes' logs are read (to know when each is up), not printed
};
log(`redis ${redisLine}; starting ${EDGES} edges and ${WORKERS} workers`);
const edges = await Promise.all(
  Array.from({ length: EDGES }, (_, i) => startHerald("edge", { ...env, HERALD_NODE_ID: `edge-${i}` })),
);
const workers = await Promise.all(
  Array.from({ length: WORKERS }, (_, i) => startHerald("worker", { ...env, HERALD_NODE_ID: `worker-${i}` })),
);
const token = await signToken(secret, "alice", { channels: ["demo:*"] }, "24h");
const lines = [
  "",
  ...edges.map(
    (e, i) => `  edge-${i}:     ws://127.0.0.1:${e.port}/v1/ws?token=…   http://127.0.0.1:${e.port}/v1/messages`,
  ),
  ...workers.map((w, i) => `  worker-${i}:   http://127.0.0.1:${w.port}/metrics`),
  `  Redis:      ${redisLine}`,
  ...(REDIS_CLUSTER ? ["              (cluster mode: HERALD_REDIS_CLUSTER=1, REDIS_URL the seeds above)"] : []),
  `  Token:      ${token}`,
  "              (user alice, may subscribe to demo:*; valid 24 h)",
  `  Producer key: ${apiKey}`,
  `  Send:       curl -X POST 127.0.0.1:${edges[0]?.port}/v1/messages -H 'authorization: Bearer ${apiKey}' \\`,
  `                -H 'content-type: application/json' -d '{"to":{"user":"alice"},"event":"hello"}'`,
  "  Ctrl-C stops everything.",
  "",
];
process.stdout.write(`${lines.join("\n")}\n`);

// Ctrl-C or SIGTERM: stopDescendantsOnExit stops every process started here, Redis included.
for (const p of [...edges, ...workers]) {
  p.exited.then((code) => log(`a process exited (${code}); the others keep running`));
}
