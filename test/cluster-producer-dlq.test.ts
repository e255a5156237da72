import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeraldProducer } from "@herald/producer";
import { Keys, keySlot, type LocalCluster, waitFor } from "@herald/testkit";
import { Queue } from "bullmq";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, msg } from "./support/gateway.js";

/**
 * The Node producer SDK and `herald dlq` against a gateway in cluster mode (HERALD_REDIS_CLUSTER=1,
 * three masters): what they write must be where the cluster layout puts it, or no worker reads it.
 */
const handlers = new URL("./fixtures/handlers.mjs", import.meta.url).pathname;
const flag = join(mkdtempSync(join(tmpdir(), "herald-flag-")), "fixed");

let g: Gateway;
let cluster: LocalCluster;
let keys: Keys;
beforeAll(async () => {
  g = await Gateway.start({
    redisCluster: {},
    env: {
      HERALD_HANDLERS: handlers,
      TEST_FLAG_FILE: flag,
      HERALD_MAX_ATTEMPTS: "3",
      HERALD_BACKOFF_MS: "50",
    },
  });
  cluster = g.cluster as LocalCluster;
  keys = new Keys(g.prefix, "cluster");
});
afterAll(() => g?.stop());

const masterPort = async (slot: number) => (await cluster.masterOf(slot)).port;

describe("the producer SDK on a Redis Cluster", () => {
  it("with cluster: true and the seeds, sends at every priority to users on every master, a topic and all", async () => {
    const users = Array.from({ length: 9 }, (_, i) => `sdk-${i}`);
    expect(new Set(await Promise.all(users.map((u) => masterPort(keySlot(keys.presence(u)))))).size).toBe(3);
    const clients = await Promise.all(users.map((u) => g.connect(u, { channels: ["news"] })));
    for (const c of clients) c.send({ type: "subscribe", channel: "news" });
    await Promise.all(clients.map((c) => c.next((f) => f.type === "subscribed", "subscribed")));

    const producer = new HeraldProducer({ redisUrl: g.redis.url, cluster: true, prefix: g.prefix });
    const priorities = ["critical", "high", "normal", "low"] as const;
    const direct = await Promise.all(
      users.map((u, i) => producer.send(msg({ user: u }, "direct", { priority: priorities[i % 4] }))),
    );
    const [news, all] = await producer.sendMany([msg({ channel: "news" }, "news"), msg({ broadcast: true }, "all")]);
    await producer.close();

    for (const [i, c] of clients.entries()) {
      await waitFor(() => c.messages().length === 3, `direct, news and all for ${users[i]}`);
      const byEvent = Object.fromEntries(c.messages().map((f) => [f.event, f.id]));
      expect(byEvent).toEqual({ direct: direct[i], news, all });
    }
    for (const c of clients) c.close();
  });

  it("takes an ioredis Cluster as its connection (and the cluster layout with it), leaving it open", async () => {
    const seeds = cluster.nodes.map((n) => ({ host: "127.0.0.1", port: n.port }));
    const connection = new Cluster(seeds, { enableOfflineQueue: false });
    const client = await g.connect("own-connection");
    const producer = new HeraldProducer({ connection, prefix: g.prefix });
    const id = await producer.send(msg({ user: "own-connection" }, "via-cluster"));
    await producer.close();
    expect((await client.next((f) => f.event === "via-cluster", "the message")).id).toBe(id);
    expect(connection.status).toBe("ready");
    connection.disconnect();
    client.close();
  });

  it("refuses a layout that contradicts its connection: the messages would never be delivered", () => {
    const connection = new Cluster([{ host: "127.0.0.1", port: cluster.nodes[0]?.port as number }], {
      lazyConnect: true,
    });
    expect(() => new HeraldProducer({ connection, cluster: false })).toThrow(/cluster is false/);
    expect(() => new HeraldProducer({ redisUrl: g.redis.url })).toThrow(/set cluster: true/);
    connection.disconnect();
  });
});

describe("a plain BullMQ client on a Redis Cluster", () => {
  it("adds a job to a priority's queue under the cluster layout's prefix, and the message is delivered", async () => {
    const c = await g.connect("bullmq-cluster");
    const seeds = cluster.nodes.map((n) => ({ host: "127.0.0.1", port: n.port }));
    const connection = new Cluster(seeds);
    // What a producer in another language does: the queue's name and its prefix, from the docs.
    expect(keys.queuePrefix("high")).toMatch(new RegExp(`^\\{${g.prefix}\\.q\\.high(\\.\\d+)?\\}$`));
    const queue = new Queue("high", { connection, prefix: keys.queuePrefix("high") });
    await queue.add("anything", { messages: [msg({ user: "bullmq-cluster" }, "from-bullmq", { data: { n: 7 } })] });
    const f = await c.next((f) => f.event === "from-bullmq", "the message");
    expect(f).toMatchObject({ priority: "high", data: { n: 7 } });
    await queue.close();
    connection.disconnect();
    c.close();
  });
});

describe("herald dlq on a Redis Cluster", () => {
  it("lists a dead-lettered message and re-drives it to its user", async () => {
    const user = "dlq-cluster";
    const c = await g.connect(user);
    const sent = await g.post(msg({ user }, "broken", { data: { n: 1 }, priority: "high" }));
    expect(sent.status).toBe(202);
    const listed = await waitFor(async () => {
      const entries = await g.deadLetters();
      return entries.length === 1 ? entries : undefined;
    }, "the dead letter");
    const [entry] = listed;
    expect(entry).toMatchObject({ attempts: 3, error: "downstream is broken", message: { id: sent.json.ids[0] } });
    expect(c.messages()).toHaveLength(0);

    writeFileSync(flag, "ok"); // the downstream is fixed
    const { stderr } = await g.cli("dlq", "retry", entry.entryId);
    expect(stderr).toMatch(/re-drove 1 message/);
    const f = await c.next((f) => f.event === "broken", "the re-driven message");
    expect(f).toMatchObject({ id: sent.json.ids[0], data: { n: 1 }, priority: "high" });
    const { stdout } = await g.cli("dlq", "list");
    expect(stdout.trim()).toBe("");
    c.close();
  });
});
