import type { TestClient } from "@herald/testkit";
import { waitFor } from "@herald/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { Gateway, msg } from "./support/gateway.js";

/**
 * A Redis that loses its state must not silence connected clients: each edge puts its users
 * and topics back (and is not ready until it has), so clients that never disconnected
 * receive what is sent afterwards.
 */
let g: Gateway | undefined;
afterEach(async () => {
  await g?.stop();
  g = undefined;
});

/**
 * Sends until the client has one of them (what is sent while the path heals may be refused,
 * or accepted before the edge is routed to again); resolves with the ids accepted (202).
 */
async function receivesAgain(gateway: Gateway, client: TestClient, to: unknown, what: string): Promise<string[]> {
  let n = 0;
  const accepted: string[] = [];
  await waitFor(
    async () => {
      const event = `${what}-${++n}`;
      const res = await gateway.post(msg(to, event)).catch(() => undefined); // 503 while Redis comes back
      if (res?.status === 202) accepted.push(res.json.ids[0]);
      return client.frames.some((f) => typeof f.event === "string" && f.event.startsWith(what));
    },
    `${what} to arrive on a connection that never closed`,
    45_000,
    500,
  );
  return accepted;
}

/** Every accepted id after the first is in the channel's history: a client resuming from the first gets them all. */
async function allInHistory(gateway: Gateway, accepted: string[], user: string, edge = 0): Promise<void> {
  const resumed = await gateway.connect(user, {}, edge, `&since=${accepted[0]}`);
  const ids = () => resumed.messages().map((f) => f.id);
  await waitFor(() => ids().length >= accepted.length - 1, "the replay of what was accepted while healing");
  expect(ids()).toEqual(accepted.slice(1));
  resumed.close();
}

describe("presence heals", () => {
  it("after Redis restarts empty, still-connected clients receive again, users and topics alike", async () => {
    g = await Gateway.start({ env: { HERALD_CANARY_SECONDS: "1" } });
    const user = await g.connect("still-here");
    const subscriber = await g.connect("listener", { channels: ["room:*"] });
    subscriber.send({ type: "subscribe", channel: "room:1" });
    await subscriber.next((f) => f.type === "subscribed", "subscribed");

    await g.restartRedisEmpty();
    const accepted = await receivesAgain(g, user, { user: "still-here" }, "after-restart");
    await receivesAgain(g, subscriber, { channel: "room:1" }, "topic-after-restart");
    await g.post(msg({ user: "still-here" }, "after-restart-last")).then((r) => accepted.push(r.json.ids[0]));
    await allInHistory(g, accepted, "still-here");
    expect(user.closeCode).toBeUndefined();
    expect(await g.metric(g.edges[0]!, "herald_presence_restores_total")).toBeGreaterThanOrEqual(1);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${g!.port}/readyz`)).status === 200,
      "ready again",
      20_000,
    );
  }, 90_000);

  it("after Redis is paused past the node expiry and the edges reap each other, every edge's clients receive again", async () => {
    g = await Gateway.start({ edges: 2 });
    const onA = await g.connect("on-a", {}, 0);
    const onB = await g.connect("on-b", {}, 1);
    process.kill(g.redis.pid, "SIGSTOP");
    try {
      await new Promise((r) => setTimeout(r, 33_000)); // past the 30 s liveness window: this wait is the fault itself
    } finally {
      process.kill(g.redis.pid, "SIGCONT");
    }
    const acceptedA = await receivesAgain(g, onA, { user: "on-a" }, "after-pause-a");
    await receivesAgain(g, onB, { user: "on-b" }, "after-pause-b");
    await g.post(msg({ user: "on-a" }, "after-pause-last")).then((r) => acceptedA.push(r.json.ids[0]));
    await allInHistory(g, acceptedA, "on-a", 1);
    expect(onA.closeCode).toBeUndefined();
    expect(onB.closeCode).toBeUndefined();
  }, 120_000);
});
