#!/usr/bin/env node
// Redis memory that history costs, on a private redis-server: bytes per history entry (channels
// holding many entries) and per idle channel (a channel holding one entry), with a ~200-byte
// notification frame, through the real deliver script.
// Usage: node scripts/bench/history-memory.mjs [--channels 20000] [--entries 50]
import { formatId, HistoryPolicy, messageFrameEncoder, parseHistoryRules } from "@herald/protocol";
import { connectRedis, defineScripts, Keys, RedisBus, startLocalRedis } from "@herald/redis";
import { numberOption } from "./lib/options.mjs";

const CHANNELS = numberOption("channels", 20_000);
const ENTRIES = numberOption("entries", 50);

const redis = await startLocalRedis();
const commands = defineScripts(connectRedis(redis.url, { name: "history-memory" }));
const keys = new Keys("mem");
const bus = new RedisBus(keys, commands, {
  history: new HistoryPolicy(parseHistoryRules(`user:* ${ENTRIES}/1h`)),
  unacked: { cap: 0, retentionMs: 1 },
});
const data = {
  title: "Your order shipped",
  body: "Order 4711 left the warehouse and arrives Friday.",
  url: "/orders/4711",
};
let n = 0;
const delivery = (user) => {
  n++;
  const id = formatId(1_764_000_000_000 + n, 0);
  const frame = messageFrameEncoder({ id, event: "notification", priority: "normal", data, ts: 1_764_000_000_000 })(
    `user:${user}`,
  );
  return { kind: "user", target: user, priority: "normal", ts: 0, id, frame };
};
const used = async () => Number(/used_memory:(\d+)/.exec(await commands.info("memory"))?.[1]);

async function fill(channels, perChannel) {
  await commands.flushall();
  const before = await used();
  for (let c = 0; c < channels; c += 100) {
    const deliveries = [];
    for (let u = c; u < Math.min(channels, c + 100); u++)
      for (let e = 0; e < perChannel; e++) deliveries.push(delivery(`u${u}`));
    for (let i = 0; i < deliveries.length; i += 100)
      await bus.deliver({ deliveries: deliveries.slice(i, i + 100), priority: "normal", release: 0 });
  }
  return (await used()) - before;
}

const frameBytes = delivery("u0").frame.length;
const idle = await fill(CHANNELS, 1);
const full = await fill(CHANNELS / 10, ENTRIES);
const perChannel = idle / CHANNELS;
const perEntry = (full - (CHANNELS / 10) * perChannel) / ((CHANNELS / 10) * (ENTRIES - 1));
console.log(`frame: ${frameBytes} bytes`);
console.log(`idle channel (one entry): ${Math.round(perChannel)} bytes  (${CHANNELS} channels)`);
console.log(`each further entry: ${Math.round(perEntry)} bytes  (${CHANNELS / 10} channels x ${ENTRIES} entries)`);
const million = (entries) => (1e6 * (perChannel + (entries - 1) * perEntry)) / 2 ** 30;
console.log(
  `a million user channels: 1 entry each ${million(1).toFixed(2)} GiB; ${ENTRIES} each ${million(ENTRIES).toFixed(1)} GiB`,
);
await commands.quit();
await redis.stop();
