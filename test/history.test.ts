import { type Frame, type TestClient, waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Gateway, msg } from "./support/gateway.js";

/** History, `since` replay and acknowledgements, through two real edges and a real worker. */
let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({
    edges: 2,
    workers: 1,
    env: { HERALD_HISTORY: "user:short-* 5/1h, user:* 500/1h, quiet:* 0" },
  });
});
afterAll(() => g?.stop());

/** Posts `count` messages to `to`, one request each, in order, while `during` runs; resolves with the ids. */
async function stream(to: unknown, count: number, during?: (sent: number) => Promise<void> | void): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await g.post(msg(to, "tick", { data: { i } }));
    expect(res.status).toBe(202);
    ids.push(res.json.ids[0]);
    await during?.(i + 1);
  }
  return ids;
}

const messageIds = (c: TestClient, channel: string) =>
  c.frames.filter((f) => f.type === "message" && f.channel === channel).map((f) => f.id as string);

/** The frames from the first `error` of `code` on `channel` onwards, or undefined if there is none. */
const errorOf = (c: TestClient, code: string, channel: string): Frame | undefined =>
  c.frames.find((f) => f.type === "error" && f.code === code && f.channel === channel);

describe("since replay", () => {
  it("a client that drops mid-stream and reconnects to another edge with since sees every accepted id once, in order", async () => {
    const user = "blinker";
    let first: TestClient | undefined = await g.connect(user, {}, 0);
    let second: TestClient | undefined;
    const seenBefore: string[] = [];
    const ids = await stream({ user }, 200, async (sent) => {
      if (sent === 60 && first) {
        // Drop the connection mid-stream, keeping what it saw; the stream goes on meanwhile.
        await waitFor(() => messageIds(first as TestClient, `user:${user}`).length >= 30, "30 before the drop");
        first.close();
        await first.closed();
        seenBefore.push(...messageIds(first, `user:${user}`));
        first = undefined;
      }
      if (sent === 90) {
        const since = seenBefore[seenBefore.length - 1] as string;
        second = await g.connect(user, {}, 1, `&since=${since}`);
      }
    });
    const after = second as unknown as TestClient;
    await waitFor(() => messageIds(after, `user:${user}`).length + seenBefore.length >= ids.length, "every id", 20_000);
    expect(errorOf(after, "history_gap", `user:${user}`)).toBeUndefined();
    expect([...seenBefore, ...messageIds(after, `user:${user}`)]).toEqual(ids);
    after.close();
  });

  it("replays a topic after since on subscribe, under a live stream, with no gap and no duplicate", async () => {
    const topic = "feed:replay";
    const watcher = await g.connect("watcher", { channels: ["feed:*"] });
    watcher.send({ type: "subscribe", channel: topic });
    await watcher.next((f) => f.type === "subscribed", "subscribed");
    let late: TestClient | undefined;
    const ids = await stream({ channel: topic }, 120, async (sent) => {
      if (sent === 40) {
        late = await g.connect("late", { channels: ["feed:*"] }, 1);
        const since = messageIds(watcher, topic)[9];
        late.send({ type: "subscribe", channel: topic, since });
      }
    });
    await waitFor(() => messageIds(watcher, topic).length === ids.length, "the watcher's stream");
    const lateClient = late as unknown as TestClient;
    await waitFor(() => messageIds(lateClient, topic).length >= ids.length - 10, "the late subscriber's stream");
    expect(messageIds(lateClient, topic)).toEqual(ids.slice(10));
    const subscribedAt = lateClient.frames.findIndex((f) => f.type === "subscribed");
    const firstMessageAt = lateClient.frames.findIndex((f) => f.type === "message");
    expect(subscribedAt).toBeLessThan(firstMessageAt);
    watcher.close();
    lateClient.close();
  });

  it("answers history_gap, before anything else on the channel, when since is older than the history or unknown", async () => {
    const user = "short-memory";
    const ids = await stream({ user }, 10);
    await waitFor(async () => (await g.metric(g.workers[0] as never, "herald_worker_messages_total")) >= 0, "worker");
    const old = await g.connect(user, {}, 0, `&since=${ids[0]}`); // 5 kept: the first is gone
    const gap = await old.next((f) => f.type === "error" && f.code === "history_gap", "history_gap");
    expect(gap.channel).toBe(`user:${user}`);
    const unknown = await g.connect(user, {}, 1, "&since=not-an-id");
    await unknown.next((f) => f.type === "error" && f.code === "history_gap", "history_gap for garbage");
    // Still live after the gap.
    const res = await g.post(msg({ user }, "after-gap"));
    for (const c of [old, unknown]) {
      const f = await c.next((f) => f.type === "message" && f.id === res.json.ids[0], "live after the gap");
      expect(c.frames.indexOf(f)).toBeGreaterThan(c.frames.indexOf(errorOf(c, "history_gap", `user:${user}`) as Frame));
      c.close();
    }
    // Within the kept five: replayed, no gap.
    const recent = await g.connect(user, {}, 0, `&since=${ids[6]}`);
    await waitFor(
      () => messageIds(recent, `user:${user}`).length === 4,
      "the replay of the last three and the live one",
    );
    expect(messageIds(recent, `user:${user}`)).toEqual([ids[7], ids[8], ids[9], res.json.ids[0]]);
    expect(errorOf(recent, "history_gap", `user:${user}`)).toBeUndefined();
    recent.close();
  });

  it("replays broadcasts after since when the client asks as its socket opens, before welcome", async () => {
    // An observer on the same edge: once it has the third broadcast, none is still on its way to
    // that edge, so what the new connection gets can only come from the replay or the live stream.
    const observer = await g.connect("observer", {}, 1);
    const ids = await stream({ broadcast: true }, 3);
    await waitFor(() => messageIds(observer, "broadcast").includes(ids[2] as string), "the broadcasts on the edge");
    observer.close();
    // A connection receives broadcasts live from welcome on: `since` for broadcast goes early.
    const ws = new WebSocket(`ws://127.0.0.1:${g.edges[1]?.port}/v1/ws?token=${await g.token("caster")}`);
    const frames: Frame[] = [];
    ws.on("message", (data) => frames.push(JSON.parse(String(data)) as Frame));
    ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", channel: "broadcast", since: ids[0] })));
    const broadcasts = () => frames.filter((f) => f.type === "message" && f.channel === "broadcast").map((f) => f.id);
    await waitFor(() => broadcasts().length >= 2, "the replayed broadcasts");
    const [live] = await stream({ broadcast: true }, 1);
    await waitFor(() => broadcasts().includes(live as string), "a live broadcast after the replay");
    expect(broadcasts()).toEqual([ids[1], ids[2], live]);
    ws.close();
  });

  it("replays broadcasts after ?broadcastSince= under a live broadcast stream, with no gap and no duplicate", async () => {
    const before = await stream({ broadcast: true }, 3);
    let c: TestClient | undefined;
    // The client connects while broadcasts keep coming: some are in the replay, the rest live.
    const during = await stream({ broadcast: true }, 12, async (sent) => {
      if (sent === 4) c = await g.connect("caster2", {}, 1, `&broadcastSince=${before[0]}`);
    });
    const client = c as TestClient;
    await waitFor(() => messageIds(client, "broadcast").includes(during[11] as string), "the last live broadcast");
    expect(messageIds(client, "broadcast")).toEqual([...before.slice(1), ...during]);
    client.close();
  });

  it("keeps nothing for a channel whose rule is 0: since answers history_gap", async () => {
    const client = await g.connect("q", { channels: ["quiet:*"] });
    client.send({ type: "subscribe", channel: "quiet:1" });
    await client.next((f) => f.type === "subscribed", "subscribed");
    const [id] = await stream({ channel: "quiet:1" }, 1);
    await client.next((f) => f.type === "message" && f.id === id, "live");
    const again = await g.connect("q2", { channels: ["quiet:*"] });
    again.send({ type: "subscribe", channel: "quiet:1", since: id });
    await again.next((f) => f.type === "error" && f.code === "history_gap", "history_gap");
    client.close();
    again.close();
  });

  it("never replays a message past its ttl", async () => {
    const user = "ttl-user";
    const [before] = await stream({ user }, 1);
    const short = await g.post(msg({ user }, "short", { ttl: 1 }));
    const long = await g.post(msg({ user }, "long", { ttl: 3600 }));
    // Wall-clock expiry: wait until the short message's second has passed.
    await new Promise((r) => setTimeout(r, 1200));
    const c = await g.connect(user, {}, 1, `&since=${before}`);
    await c.next((f) => f.type === "message" && f.id === long.json.ids[0], "the long-lived message");
    expect(messageIds(c, `user:${user}`)).toEqual([long.json.ids[0]]);
    expect(messageIds(c, `user:${user}`)).not.toContain(short.json.ids[0]);
    c.close();
  });
});

describe("acknowledgements", () => {
  it("re-sends a critical message on every connect until it is acknowledged, and a normal one never", async () => {
    const user = "acker";
    const first = await g.connect(user);
    const critical = await g.post(msg({ user }, "alarm", { priority: "critical" }));
    const normal = await g.post(msg({ user }, "note"));
    const criticalId = critical.json.ids[0];
    await first.next((f) => f.id === normal.json.ids[0], "both delivered live");
    first.close();

    // Reconnecting (here, to the other edge) without since: the unacknowledged critical message comes again.
    const second = await g.connect(user, {}, 1);
    await second.next((f) => f.type === "message" && f.id === criticalId, "re-sent");
    expect(messageIds(second, `user:${user}`)).toEqual([criticalId]);
    second.send({ type: "ack", id: criticalId });
    await waitFor(async () => (await g.metric(g.edges[1] as never, "herald_acks_total")) >= 1, "the ack counted");
    second.close();

    // Acknowledged: a later connection gets only what is sent live (the catch-up comes before it).
    const third = await g.connect(user, {}, 0);
    const marker = await g.post(msg({ user }, "marker"));
    await third.next((f) => f.id === marker.json.ids[0], "the live marker");
    expect(messageIds(third, `user:${user}`)).toEqual([marker.json.ids[0]]);
    third.close();
  });
});
