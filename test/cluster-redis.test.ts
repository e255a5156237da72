import { Keys, keySlot, type LocalCluster, type TestClient, waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, msg } from "./support/gateway.js";

/**
 * Herald on a real Redis Cluster (HERALD_REDIS_CLUSTER=1): three masters with a replica each,
 * two edges and two workers. Keys spread over the masters; deliveries go over sharded pub/sub;
 * a client keeps receiving through a failover and through slot moves under traffic.
 */
let g: Gateway;
let cluster: LocalCluster;
let keys: Keys;
beforeAll(async () => {
  g = await Gateway.start({ edges: 2, workers: 2, redisCluster: { replicas: 1 } });
  cluster = g.cluster as LocalCluster;
  keys = new Keys(g.prefix, "cluster");
});
afterAll(() => g?.stop());

/** On a failure, what the processes logged at warn and above. */
const logged = () =>
  [...g.edges, ...g.workers].flatMap((p) =>
    p.logs.filter((l) => (l.level as number) >= 40).map((l) => JSON.stringify(l)),
  );

/** `waitFor`, whose failure says what the processes logged. */
async function soon<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  try {
    return await waitFor(check, what, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${logged().join("\n")}`);
  }
}

const ids = (c: TestClient, channel: string) =>
  c
    .messages()
    .filter((f) => f.channel === channel)
    .map((f) => f.id as string);

/** Posts to `user` one request after another until `stop` is set; collects the accepted ids. */
function traffic(user: string) {
  const accepted: string[] = [];
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const res = await g.post(msg({ user }, "tick", { data: { i } })).catch(() => undefined);
      if (res?.status === 202) accepted.push(res.json.ids[0]);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    accepted,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** The node a client is connected to (its welcome says). */
const nodeOf = (c: TestClient) => String(c.frames.find((f) => f.type === "welcome")?.nodeId);

/**
 * After an event (`from`: how many ids were accepted when it ended), the client receives again:
 * an id accepted since then arrives, and every one of the next 20 after it. What was published
 * to the node while its sharded subscriber moved to the new master is lost to the live path
 * (a client resuming with since finds it in history), as across any subscriber reconnect.
 */
async function receivesAgain(client: TestClient, user: string, load: ReturnType<typeof traffic>, from: number) {
  const seen = () => new Set(ids(client, `user:${user}`));
  const resumed = await soon(
    () => {
      const s = seen();
      const i = load.accepted.findIndex((id, k) => k >= from && s.has(id));
      return i >= 0 ? i : undefined;
    },
    "an id accepted after the event arriving",
    30_000,
  );
  await soon(() => load.accepted.length >= resumed + 20, "20 more accepted", 30_000);
  const next = load.accepted.slice(resumed, resumed + 20);
  try {
    await waitFor(() => next.every((id) => seen().has(id)), "every id after the first that arrived", 30_000);
  } catch (err) {
    const missing = next.map((id, i) => (seen().has(id) ? "" : String(i))).filter(Boolean);
    const metrics = await Promise.all(
      g.workers.map(async (w) =>
        (await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text())
          .split("\n")
          .filter((l) => l.includes("unrouted") && !l.startsWith("#")),
      ),
    );
    throw new Error(
      `${(err as Error).message}: missing ${missing.join(",")} of 20 from ${resumed - from}; ${JSON.stringify(metrics)}`,
    );
  }
}

/**
 * The slot of the channel a user's deliveries take to a node: the node's first channel on the
 * master serving the user's keys (workers publish there, in the call that appends to history).
 */
async function deliveringSlot(node: string, user: string): Promise<number> {
  const master = await masterPort(keySlot(keys.presence(user)));
  for (const slot of keys.nodeChannelSlots(node)) if ((await masterPort(slot)) === master) return slot;
  throw new Error(`no channel of ${node} on the master of ${user}`);
}

/** The port of the master serving a slot, now. */
const masterPort = async (slot: number) => (await cluster.masterOf(slot)).port;

describe("Herald on a Redis Cluster", () => {
  it("puts each priority queue's tag on the masters the layout promises: normal, high and low, critical", async () => {
    const port = (q: string) => masterPort(keySlot(keys.queueTag(q)));
    const [normal, high, low, critical] = await Promise.all(["normal", "high", "low", "critical"].map(port));
    expect(new Set([normal, high, critical]).size).toBe(3);
    expect(low).toBe(high);
  });

  it("delivers to users whose keys sit on every master, to topics and broadcasts, through either edge", async () => {
    const users = Array.from({ length: 12 }, (_, i) => `spread-${i}`);
    const masters = new Set(await Promise.all(users.map((u) => masterPort(keySlot(keys.presence(u))))));
    expect(masters.size).toBe(3);
    const clients = await Promise.all(users.map((u, i) => g.connect(u, { channels: ["team:*"] }, i % 2)));
    for (const c of clients) c.send({ type: "subscribe", channel: "team:1" });
    await Promise.all(clients.map((c) => c.next((f) => f.type === "subscribed", "subscribed")));
    const res = await g.post({
      messages: [
        ...users.map((u) => msg({ user: u }, "direct")),
        msg({ channel: "team:1" }, "team"),
        msg({ broadcast: true }, "all"),
      ],
    });
    expect(res.status).toBe(202);
    for (const c of clients) {
      await soon(() => c.messages().length === 3, "direct, team and broadcast");
      expect(
        c
          .messages()
          .map((f) => f.event)
          .sort(),
      ).toEqual(["all", "direct", "team"]);
    }
    for (const c of clients) c.close();
  });

  it("delivers a repeated idempotency key once, and resumes a user's history after since", async () => {
    const user = "resumer";
    const first = await g.connect(user);
    const once = await g.post(msg({ user }, "once", { id: "cluster-order-1" }));
    const again = await g.post(msg({ user }, "once", { id: "cluster-order-1" }));
    expect(again.json.ids[0]).toBe(once.json.ids[0]);
    await first.next((f) => f.event === "once", "the first");
    first.close();
    await first.closed();
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push((await g.post(msg({ user }, "missed", { data: { i } }))).json.ids[0]);
    const back = await g.connect(user, {}, 1, `&since=${once.json.ids[0]}`);
    await waitFor(() => ids(back, `user:${user}`).length === 5, "the five missed").catch(async (err) => {
      const port = String(cluster.nodes[0]?.port);
      const q = keys.queue("normal");
      const dump = await Promise.all([
        cluster.cli("-c", "-p", port, "lrange", keys.history(`user:${user}`), "0", "-1"),
        cluster.cli("-c", "-p", port, "lrange", `${q}:active`, "0", "-1"),
        cluster.cli("-c", "-p", port, "zrange", keys.published("normal"), "0", "-1"),
        cluster.cli("-c", "-p", port, "hgetall", keys.presence(user)),
        cluster.cli("-c", "-p", port, "llen", `${q}:wait`),
      ]);
      throw new Error(
        `${err.message} ${JSON.stringify({ frames: back.frames, close: back.closeCode, sent, once: once.json, dump, logs: logged() })}`,
      );
    });
    expect(ids(back, `user:${user}`)).toEqual(sent);
    expect(first.messages().filter((f) => f.event === "once")).toHaveLength(1);
    back.close();
  });

  it("keeps each producer's order through two workers", async () => {
    const watcher = await g.connect("watcher", { channels: ["orders"] });
    watcher.send({ type: "subscribe", channel: "orders" });
    await watcher.next((f) => f.type === "subscribed", "subscribed");
    const producers = [0, 1, 2];
    const sent = await Promise.all(
      producers.map(async (p) => {
        const out: string[] = [];
        for (let i = 0; i < 40; i++)
          out.push((await g.post(msg({ channel: "orders" }, "o", { data: { p, i } }))).json.ids[0]);
        return out;
      }),
    );
    await soon(() => watcher.messages().length === 120, "every order", 30_000);
    for (const p of producers) {
      const seen = watcher
        .messages()
        .filter((f) => (f.data as { p: number }).p === p)
        .map((f) => f.id);
      expect(seen).toEqual(sent[p]);
    }
    watcher.close();
  });

  it("keeps a client receiving through a failover of the masters of its edge's channel and of its user", async () => {
    const user = "through-failover";
    const client = await g.connect(user, {}, 0);
    const load = traffic(user);
    await soon(() => ids(client, `user:${user}`).length >= 5, "traffic flowing");
    const slots = [await deliveringSlot(nodeOf(client), user), keySlot(keys.presence(user))];
    for (const slot of slots) {
      const master = await cluster.masterOf(slot);
      const [replica] = await cluster.replicasOf(master);
      if (!replica) continue; // the first failover already moved this master's slots
      await cluster.failover(replica, slot);
    }
    await receivesAgain(client, user, load, load.accepted.length);
    await load.stop();
    client.close();
  });

  it("keeps a client receiving while its user's slot (losing nothing) and its edge's channel slot move", async () => {
    const user = "through-reshard";
    const client = await g.connect(user, {}, 1);
    const load = traffic(user);
    await soon(() => ids(client, `user:${user}`).length >= 5, "traffic flowing");
    const userSlot = keySlot(keys.presence(user));
    const elsewhere = async (slot: number) => {
      const current = await masterPort(slot);
      const ports = new Set(await Promise.all([0, 5461, 10923].map(masterPort)));
      const target = [...ports].find((p) => p !== current) as number;
      return cluster.nodes.find((n) => n.port === target) as (typeof cluster.nodes)[number];
    };
    await cluster.moveSlot(userSlot, await elsewhere(userSlot));
    const moved = load.accepted.length;
    await soon(() => load.accepted.length >= moved + 10, "10 accepted after the user's slot moved", 30_000);
    // The user's keys moved with MIGRATE while traffic ran: nothing accepted is lost.
    await soon(
      () => load.accepted.slice(0, moved + 10).every((id) => ids(client, `user:${user}`).includes(id)),
      "every id through the user's slot move",
      30_000,
    );
    const channelSlot = await deliveringSlot(nodeOf(client), user);
    await cluster.moveSlot(channelSlot, await elsewhere(channelSlot));
    await receivesAgain(client, user, load, load.accepted.length);
    await load.stop();
    client.close();
  });
});
