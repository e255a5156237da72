import { freePort, type HeraldProcess, waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Cluster, Recorder, wsUrl } from "./support/cluster.js";

/** Tokens, back-off, queued subscriptions and acknowledgements, through real edges and a real worker. */
let cluster: Cluster;
let api: HeraldProcess;
beforeAll(async () => {
  // No clock allowance, so that a token expires when its `exp` says.
  // Heartbeats every 4 s (the least allowed), so that a stalled edge is noticed soon.
  cluster = await Cluster.start({ HERALD_JWT_CLOCK_TOLERANCE_SECONDS: "0", HERALD_HEARTBEAT_SECONDS: "4" });
  api = await cluster.start("edge");
});
afterAll(() => cluster?.stop());

describe("tokens", () => {
  it("on 4001 fetches a fresh token and resumes, missing nothing", async () => {
    const user = "expiring";
    const tokens: string[] = [];
    const app = new Recorder({
      url: wsUrl(api),
      // The first token expires in 2 s; the edge closes the connection with 4001 then.
      getToken: async () => {
        tokens.push(await cluster.token(user, tokens.length === 0 ? "2s" : "1h"));
        return tokens.at(-1) as string;
      },
    });
    await app.live();
    const before = await cluster.post(api, { to: { user }, event: "before" });
    await app.receivedAll(`user:${user}`, before);
    await app.state((s) => s.state === "reconnecting", "closed for the expired token");
    expect(app.states.find((s) => s.state === "reconnecting")).toMatchObject({ code: 4001, delayMs: 0 });
    const during = await cluster.post(api, { to: { user }, event: "during" }); // maybe before the new welcome
    await app.live(2);
    const after = await cluster.post(api, { to: { user }, event: "after" });
    await app.receivedAll(`user:${user}`, [...before, ...during, ...after]);
    expect(app.ids(`user:${user}`)).toEqual([...before, ...during, ...after]);
    expect(tokens.length).toBe(2);
    app.client.close();
  });
});

describe("back-off", () => {
  it("retries a refused address with delays inside the doubling bounds, then connects once an edge listens there", async () => {
    const port = await freePort();
    const app = new Recorder({
      url: `ws://127.0.0.1:${port}/v1/ws`,
      token: await cluster.token("patient"),
      backoff: { initialMs: 20, maxMs: 80 },
      random: () => 0.999999, // the top of each jitter range
    });
    await app.state((s) => s.state === "reconnecting", "fifth retry", 5);
    const edge = await cluster.start("edge", { HERALD_PORT: String(port) });
    await app.live();
    const delays = app.states.filter((s) => s.state === "reconnecting").map((s) => s.delayMs);
    expect(delays.slice(0, 5)).toEqual([19, 39, 79, 79, 79]);
    expect(delays.every((d) => d !== undefined && d < 80)).toBe(true);
    app.client.close();
    await edge.stop();
  });
});

describe("queued subscriptions", () => {
  it("applies subscribe and unsubscribe calls made while its edge is down on the next connection", async () => {
    const user = "queuer";
    let edge = await cluster.start("edge");
    const app = new Recorder({ url: () => wsUrl(edge), token: await cluster.token(user, "1h", { channels: ["q:*"] }) });
    const got: Record<string, string[]> = { "q:old": [], "q:new": [] };
    const offOld = app.client.subscribe("q:old", (m) => {
      got["q:old"]?.push(m.id);
    });
    await app.state(() => app.subscribed.includes("q:old"), "q:old subscribed");
    await edge.stop("SIGKILL");
    await app.state((s) => s.state === "reconnecting", "reconnecting");

    offOld();
    app.client.subscribe("q:new", (m) => {
      got["q:new"]?.push(m.id);
    });
    edge = await cluster.start("edge");
    await app.state(() => app.subscribed.includes("q:new"), "q:new subscribed");
    const ids = await cluster.post(
      api,
      { to: { channel: "q:old" }, event: "x" },
      { to: { channel: "q:new" }, event: "x" },
    );
    const [marker] = await cluster.post(api, { to: { user }, event: "marker" }); // after both, on one queue
    await app.receivedAll(`user:${user}`, [marker as string]);
    await app.receivedAll("q:new", [ids[1] as string]);
    expect(got).toEqual({ "q:old": [], "q:new": [ids[1]] });
    expect(app.subscribed.filter((c) => c === "q:old")).toEqual(["q:old"]); // not again after the reconnect
    app.client.close();
  });
});

describe("acknowledgements", () => {
  it("acks a critical message once handled: the next connection does not get it again", async () => {
    const user = "acked";
    const app = new Recorder({ url: wsUrl(api), token: await cluster.token(user) });
    await app.live();
    const acksBefore = await cluster.metric(api, "herald_acks_total");
    const critical = await cluster.post(api, { to: { user }, event: "alarm", priority: "critical" });
    await app.receivedAll(`user:${user}`, critical);
    await waitFor(async () => (await cluster.metric(api, "herald_acks_total")) > acksBefore, "the ack counted");
    app.client.close();

    const later = new Recorder({ url: wsUrl(api), token: await cluster.token(user) });
    await later.live();
    const marker = await cluster.post(api, { to: { user }, event: "marker" });
    await later.receivedAll(`user:${user}`, marker);
    expect(later.ids(`user:${user}`)).toEqual(marker);
    later.client.close();
  });

  it("with autoAck off, a re-sent critical message reaches the app once, and is re-sent until the app acks", async () => {
    const user = "manual";
    let edge = await cluster.start("edge");
    const app = new Recorder({ url: () => wsUrl(edge), token: await cluster.token(user), autoAck: false });
    await app.live();
    const critical = await cluster.post(api, { to: { user }, event: "alarm", priority: "critical" });
    await app.receivedAll(`user:${user}`, critical);

    // Unacknowledged: a fresh connection of the user gets it again.
    const witness = new Recorder({ url: wsUrl(api), token: await cluster.token(user), autoAck: false });
    await witness.receivedAll(`user:${user}`, critical);
    witness.client.close();

    await edge.stop("SIGKILL");
    edge = await cluster.start("edge");
    await app.live(2);
    const acksBefore = await cluster.metric(edge, "herald_acks_total");
    app.client.ack(critical[0] as string);
    await waitFor(async () => (await cluster.metric(edge, "herald_acks_total")) > acksBefore, "the ack counted");
    const marker = await cluster.post(api, { to: { user }, event: "marker" });
    await app.receivedAll(`user:${user}`, marker);
    expect(app.ids(`user:${user}`)).toEqual([...critical, ...marker]);

    const later = new Recorder({ url: wsUrl(api), token: await cluster.token(user) });
    await later.live();
    const marker2 = await cluster.post(api, { to: { user }, event: "marker" });
    await later.receivedAll(`user:${user}`, marker2);
    expect(later.ids(`user:${user}`)).toEqual(marker2);
    later.client.close();
    app.client.close();
  });
});

/** A socket as browsers have one: it answers the edge's pings but does not report them. */
class BrowserLikeSocket {
  private readonly ws: WebSocket;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.onopen = (ev) => this.onopen?.(ev);
    this.ws.onmessage = (ev) => this.onmessage?.(ev);
    this.ws.onclose = (ev) => this.onclose?.(ev);
    this.ws.onerror = (ev) => this.onerror?.(ev);
  }
  send(data: string) {
    this.ws.send(data);
  }
  close(code?: number) {
    this.ws.close(code);
  }
}

describe("dead connections", () => {
  it("notices an edge gone silent (SIGSTOP) by its heartbeat, with ws's pings and with ping frames, and resumes elsewhere", async () => {
    const user = "stalled";
    let edge = await cluster.start("edge");
    const options = { url: () => wsUrl(edge), token: await cluster.token(user), heartbeatGraceMs: 500 };
    const ws = new Recorder(options);
    const browser = new Recorder({ ...options, WebSocket: BrowserLikeSocket });
    await Promise.all([ws.live(), browser.live()]);
    const before = await cluster.post(api, { to: { user }, event: "before" });
    await Promise.all([ws.receivedAll(`user:${user}`, before), browser.receivedAll(`user:${user}`, before)]);

    const stalled = edge;
    process.kill(stalled.pid, "SIGSTOP"); // the TCP connection stays open; nothing comes through it
    edge = api;
    const during = await cluster.post(api, { to: { user }, event: "during" });
    for (const app of [ws, browser]) {
      await app.live(2);
      expect(app.states.find((s) => s.state === "reconnecting")).toMatchObject({
        code: 1006,
        reason: "heartbeat missed",
      });
      await app.receivedAll(`user:${user}`, [...before, ...during]);
      expect(app.ids(`user:${user}`)).toEqual([...before, ...during]);
      app.client.close();
    }
    await stalled.stop("SIGKILL");
  });
});
