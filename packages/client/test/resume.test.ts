import type { HeraldProcess } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, Recorder, wsUrl } from "./support/cluster.js";

/** Resume through real edges: an edge killed and replaced, and an edge draining to another. */
let cluster: Cluster;
let api: HeraldProcess; // takes the producers' requests; the client never connects to it
beforeAll(async () => {
  cluster = await Cluster.start();
  api = await cluster.start("edge");
});
afterAll(() => cluster?.stop());

describe("resume", () => {
  it("loses nothing and repeats nothing, in order, across a SIGKILLed edge and a move to a draining edge's neighbour", async () => {
    const user = "roamer";
    const topic = "feed:roam";
    let edge = await cluster.start("edge");
    // Not acknowledged: the edge re-sends its critical message on every connect, and the client drops the repeat.
    const app = new Recorder({
      url: () => wsUrl(edge),
      token: await cluster.token(user, "1h", { channels: ["feed:*"] }),
      autoAck: false,
    });
    const onTopic: string[] = [];
    app.client.subscribe(topic, (m) => {
      onTopic.push(m.id);
    });
    await app.live();
    await app.state(() => app.subscribed.includes(topic), "subscribed");

    const sent: Record<string, string[]> = { [`user:${user}`]: [], [topic]: [], broadcast: [] };
    const post = async (i: number) => {
      const ids = await cluster.post(
        api,
        { to: { user }, event: "tick", data: { i } },
        { to: { channel: topic }, event: "tick", data: { i } },
        { to: { broadcast: true }, event: "tick", data: { i } },
      );
      sent[`user:${user}`]?.push(ids[0] as string);
      sent[topic]?.push(ids[1] as string);
      sent.broadcast?.push(ids[2] as string);
    };

    for (let i = 0; i < 10; i++) await post(i);
    const [critical] = await cluster.post(api, { to: { user }, event: "alarm", priority: "critical" });
    for (let i = 10; i < 20; i++) await post(i);
    await app.received(topic, 10); // some delivered before the crash, the rest may be in flight
    await edge.stop("SIGKILL");
    for (let i = 20; i < 30; i++) await post(i); // accepted while the client has no edge
    edge = await cluster.start("edge"); // a new edge, on a new port: the url function points there
    await app.live(2);
    for (let i = 30; i < 45; i++) await post(i);

    // A move: the client's edge drains (1012) and the client goes at once to another.
    const draining = edge;
    edge = api;
    await draining.stop("SIGTERM");
    await app.live(3);
    for (let i = 45; i < 60; i++) await post(i);

    for (const [channel, ids] of Object.entries(sent)) {
      await app.receivedAll(channel, ids);
      const got = app.ids(channel).filter((id) => id !== critical); // a higher priority may overtake
      expect({ channel, ids: got }).toEqual({ channel, ids });
    }
    expect(app.ids(`user:${user}`).filter((id) => id === critical)).toEqual([critical]);
    expect(onTopic).toEqual(sent[topic]);
    expect(app.gaps).toEqual([]);
    const reconnects = app.states.filter((s) => s.state === "reconnecting");
    expect(reconnects[0]).toMatchObject({ code: 1006 });
    expect(reconnects.find((s) => s.code === 1012)).toMatchObject({ delayMs: 0 });
    app.client.close();
  });

  it("surfaces history_gap when the last id it saw is no longer in history, then goes on live", async () => {
    const user = "stale";
    const edge = await cluster.start("edge");
    const app = new Recorder({
      url: wsUrl(edge),
      token: await cluster.token(user),
      resume: { [`user:${user}`]: "0000000000000" },
    });
    await app.live();
    await app.state(() => app.gaps.length > 0, "history_gap");
    expect(app.gaps).toEqual([`user:${user}`]);
    const [id] = await cluster.post(api, { to: { user }, event: "after" });
    await app.received(`user:${user}`, 1);
    expect(app.ids(`user:${user}`)).toEqual([id]);
    app.client.close();
    await edge.stop();
  });
});
