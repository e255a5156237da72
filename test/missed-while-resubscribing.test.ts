import { waitFor } from "@herald/testkit";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { Gateway, msg } from "./support/gateway.js";

/**
 * An edge whose bus subscription is down while workers publish to it (Redis restarted, or the
 * connection is coming back, later than the workers' after a starved moment) gets what was
 * published meanwhile once it has subscribed again: the publish keeps what no subscriber took,
 * and the edge hands it over, in order and once, before what comes after, to the connections
 * it held throughout.
 */
let g: Gateway | undefined;
afterEach(async () => {
  await g?.stop();
  g = undefined;
});

/** Runs `fn` with a connection to each Redis server (one, or every node of a cluster). */
async function onEveryServer<T>(urls: string[], fn: (r: Redis) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const url of urls) {
    const r = new Redis(url, { lazyConnect: true });
    await r.connect();
    try {
      out.push(await fn(r));
    } finally {
      r.disconnect();
    }
  }
  return out;
}

/** Closes, on every server, the bus subscriber connections of one node (as Redis going away would). */
async function dropSubscribers(gateway: Gateway, nodeId: string): Promise<number> {
  const killed = await onEveryServer(gateway.serverUrls, async (r) => {
    const list = (await r.call("CLIENT", "LIST", "TYPE", "pubsub")) as string;
    const ids = list
      .split("\n")
      .filter((l) => l.includes(`subscriber-`) && l.includes(`:${gateway.prefix}:${nodeId} `))
      .map((l) => /\bid=(\d+)/.exec(l)?.[1])
      .filter((id): id is string => id !== undefined);
    for (const id of ids) await r.call("CLIENT", "KILL", "ID", id);
    return ids.length;
  });
  return killed.reduce((a, b) => a + b, 0);
}

/** Delivery lines kept for a node, over every server (each kept payload holds one or more lines). */
async function keptLines(gateway: Gateway, nodeId: string): Promise<number> {
  const counts = await onEveryServer(gateway.serverUrls, async (r) => {
    let lines = 0;
    for (const key of await r.keys(`*${nodeId}*:missed`)) {
      for (const payload of await r.lrange(key, 0, -1)) lines += payload.split("\n").length;
    }
    return lines;
  });
  return counts.reduce((a, b) => a + b, 0);
}

describe("deliveries published while an edge resubscribes", () => {
  it("reach the connections it held throughout, in order and once, before what follows", async () => {
    g = await Gateway.start({ edges: 2 });
    const client = await g.connect("held", {}, 0);
    const send = async (event: string) => {
      const res = await g!.post(msg({ user: "held" }, event), { edge: 1 });
      expect(res.status).toBe(202);
      return res.json.ids[0] as string;
    };
    const ids = [await send("before")];
    await waitFor(() => client.messages().length === 1, "the first message live");

    const edge = g.edges[0]!; // the one the client is on (edges start in parallel: not always node edge-0)
    const nodeId = String(edge.logs.find((l) => l.node)?.node);
    process.kill(edge.pid, "SIGSTOP"); // it cannot resubscribe until it runs again
    try {
      expect(await dropSubscribers(g, nodeId)).toBeGreaterThanOrEqual(2);
      for (let i = 0; i < 5; i++) ids.push(await send(`meanwhile-${i}`));
      // The worker published them while the edge is still a live node, to no subscriber: kept for it.
      await waitFor(async () => (await keptLines(g!, nodeId)) === 5, "the five deliveries kept for the edge");
    } finally {
      process.kill(edge.pid, "SIGCONT");
    }
    await waitFor(() => client.messages().length === 6, "the kept deliveries handed over", 20_000);
    ids.push(await send("after"));
    await waitFor(() => client.messages().length === 7, "the message after");

    expect(client.messages().map((f) => f.id)).toEqual(ids);
    expect(client.closeCode).toBeUndefined();
    expect(await keptLines(g, nodeId)).toBe(0);
    await edge.waitForLog((l) => l.msg.includes("payloads kept for it meanwhile delivered"), "the hand-over logged");
  }, 60_000);
});
