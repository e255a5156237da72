#!/usr/bin/env node
// Redis memory that queued messages and presence cost, on a private redis-server, through
// Herald's own code: a message waiting in its priority queue (packed 100 to a job, as the
// SDK and HTTP API pack them, and one to a job), and a user present on one edge.
// History's cost is measured by history-memory.mjs.
// Usage: node scripts/bench/redis-memory.mjs [--messages 20000] [--users 50000]
import { Enqueuer, PendingCount } from "@herald/jobs";
import { connectRedis, defineScripts, Keys, RedisPresence, startLocalRedis } from "@herald/redis";
import { numberOption } from "./lib/options.mjs";

const MESSAGES = numberOption("messages", 20_000);
const USERS = numberOption("users", 50_000);

const redis = await startLocalRedis();
const commands = defineScripts(connectRedis(redis.url, { name: "redis-memory" }));
const keys = new Keys("mem");
const used = async () => Number(/used_memory:(\d+)/.exec(await commands.info("memory"))?.[1]);
const data = {
  title: "Your order shipped",
  body: "Order 4711 left the warehouse and arrives Friday.",
  url: "/orders/4711",
};
const message = (i) => ({ to: { user: `u${i % 1000}` }, event: "notification", data, priority: "normal" });

async function queued(perJob) {
  await commands.flushall();
  const pending = new PendingCount(commands, keys);
  const enqueuer = new Enqueuer(
    { redis: commands, keys, pending },
    { capacity: 10_000_000, maxMessagesPerJob: perJob },
  );
  const before = await used();
  for (let i = 0; i < MESSAGES; i += 100) await enqueuer.enqueue(Array.from({ length: 100 }, (_, j) => message(i + j)));
  const bytes = ((await used()) - before) / MESSAGES;
  await enqueuer.close();
  return bytes;
}

async function presence() {
  await commands.flushall();
  const p = new RedisPresence(commands, keys, "edge-a");
  await p.heartbeat();
  const before = await used();
  for (let i = 0; i < USERS; i += 500)
    await Promise.all(Array.from({ length: 500 }, (_, j) => p.addConnection(`user-${i + j}`)));
  return ((await used()) - before) / USERS;
}

console.log(`queued message, packed 100 to a job: ${Math.round(await queued(100))} bytes (${MESSAGES} messages)`);
console.log(`queued message, one to a job: ${Math.round(await queued(1))} bytes (${MESSAGES} messages)`);
console.log(`user present on one edge: ${Math.round(await presence())} bytes (${USERS} users)`);
await commands.quit();
await redis.stop();
