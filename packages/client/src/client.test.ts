import { afterEach, describe, expect, it, vi } from "vitest";
import { connect, type HeraldClient } from "./client.js";
import type { Clock, ConnectOptions, Message, StateChange } from "./types.js";

/** A clock that moves only when told: timers run in due order as `advance` passes them. */
class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    this.timers.set(++this.seq, { at: this.t + ms, fn });
    return this.seq;
  };
  clearTimeout = (h: unknown) => {
    this.timers.delete(h as number);
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

/** A socket that records what the client sends; the test plays the edge. */
class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: Record<string, unknown>[] = [];
  closedWith: number | undefined | "terminated";
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number) {
    this.closedWith = code;
  }
  receive(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  private opened = false;
  open() {
    if (!this.opened) this.onopen?.({});
    this.opened = true;
  }
  welcome(user = "alice", heartbeat = 25) {
    this.open();
    this.receive({ type: "welcome", connectionId: "c", userId: user, nodeId: "n", heartbeat });
  }
  serverClose(code: number, reason = "") {
    this.onclose?.({ code, reason });
  }
  get query(): URLSearchParams {
    return new URL(this.url).searchParams;
  }
}

/** As `ws` is: reports the edge's pings, and can be terminated. */
class FakeWsSocket extends FakeSocket {
  private pingListeners: (() => void)[] = [];
  on(_event: "ping", fn: () => void) {
    this.pingListeners.push(fn);
  }
  removeAllListeners() {
    this.pingListeners = [];
  }
  ping() {
    for (const fn of this.pingListeners) fn();
  }
  terminate() {
    this.closedWith = "terminated";
  }
}

const settle = () => new Promise((r) => setImmediate(r));
const msg = (id: string, channel = "user:alice", priority = "normal"): Message =>
  ({ type: "message", id, channel, event: "e", priority, data: null, ts: 0 }) as Message;

let client: HeraldClient | undefined;
afterEach(() => {
  client?.close();
  FakeSocket.all = [];
});

async function start(opts: Partial<ConnectOptions> = {}, Socket: typeof FakeSocket = FakeSocket) {
  const clock = new FakeClock();
  const states: StateChange[] = [];
  const seen: string[] = [];
  client = connect({
    url: "ws://edge/v1/ws",
    token: "t0",
    WebSocket: Socket,
    clock,
    random: () => 0.999999,
    backoff: { initialMs: 100, maxMs: 800 },
    ...opts,
  });
  client.on("state", (s) => states.push(s));
  client.on("message", (m) => {
    seen.push(m.id);
  });
  await settle();
  const socket = () => FakeSocket.all.at(-1) as FakeSocket;
  /** The current socket closes with `code`; the retry timer runs; the next socket opens. */
  const drop = async (code = 1006) => {
    socket().serverClose(code);
    clock.advance(states.at(-1)?.delayMs ?? 0);
    await settle();
  };
  return { client, clock, states, seen, socket, drop };
}

describe("connect", () => {
  it("refuses options it cannot work with: no token source, or no WebSocket", () => {
    expect(() => connect({ url: "ws://edge/v1/ws", WebSocket: FakeSocket })).toThrow(/token or getToken/);
    vi.stubGlobal("WebSocket", undefined); // as in Node 20
    try {
      expect(() => connect({ url: "ws://edge/v1/ws", token: "t" })).toThrow(/WebSocket/);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe("subscriptions", () => {
  it("queues subscribe and unsubscribe calls made while not live, and applies them on welcome", async () => {
    const { client, socket, drop } = await start();
    const offA = client.subscribe("topic:a", () => undefined);
    client.subscribe("topic:b", () => undefined);
    expect(socket().sent).toEqual([]);
    socket().welcome();
    expect(socket().sent).toEqual([
      { type: "subscribe", channel: "topic:a" },
      { type: "subscribe", channel: "topic:b" },
    ]);

    await drop();
    offA(); // while reconnecting
    client.subscribe("topic:c", () => undefined);
    expect(socket().sent).toEqual([]);
    socket().welcome();
    expect(socket().sent).toEqual([
      { type: "subscribe", channel: "topic:b" },
      { type: "subscribe", channel: "topic:c" },
    ]);
  });

  it("sends subscribe and unsubscribe at once while live, once per channel", async () => {
    const { client, socket } = await start();
    socket().welcome();
    const off1 = client.subscribe("topic:a", () => undefined);
    const off2 = client.subscribe("topic:a", () => undefined);
    client.subscribe("user:alice", () => undefined); // the own channel needs no frame
    off1();
    expect(socket().sent).toEqual([{ type: "subscribe", channel: "topic:a" }]);
    off2();
    expect(socket().sent.at(-1)).toEqual({ type: "unsubscribe", channel: "topic:a" });
  });
});

describe("frame rate", () => {
  it("sends a burst of twice maxFramesPerSecond at once, then one frame per 1/rate s, in order", async () => {
    const { client, socket, clock } = await start({ maxFramesPerSecond: 10 });
    const topics = Array.from({ length: 30 }, (_, i) => `topic:${i}`);
    for (const t of topics) client.subscribe(t, () => undefined);
    socket().welcome();
    expect(socket().sent.length).toBe(20);
    clock.advance(99);
    expect(socket().sent.length).toBe(20);
    clock.advance(1);
    expect(socket().sent.length).toBe(21);
    clock.advance(900);
    expect(socket().sent.map((f) => f.channel)).toEqual(topics);
  });

  it("drops what waits to be sent when the connection goes, and subscribes again on the next", async () => {
    const { client, socket, clock, drop } = await start({ maxFramesPerSecond: 1 });
    for (const t of ["a", "b", "c"]) client.subscribe(`topic:${t}`, () => undefined);
    socket().welcome();
    const first = socket();
    await drop();
    clock.advance(10_000);
    expect(first.sent.length).toBe(2);
    socket().welcome();
    clock.advance(1000);
    expect(socket().sent.map((f) => f.channel)).toEqual(["topic:a", "topic:b", "topic:c"]);
  });
});

describe("resume and dedupe", () => {
  it("reconnects with since for the user channel and re-subscribes topics and broadcast from their last ids", async () => {
    const { client, socket, drop } = await start();
    client.subscribe("topic:a", () => undefined);
    socket().welcome();
    for (const m of [msg("u1"), msg("a1", "topic:a"), msg("b1", "broadcast"), msg("u2"), msg("a2", "topic:a")])
      socket().receive(m);
    await drop();
    expect(socket().query.get("since")).toBe("u2");
    expect(socket().query.get("token")).toBe("t0");
    // Broadcast on the URL, so that the edge replays the missed ones before any live one; topics after welcome.
    expect(socket().query.get("broadcastSince")).toBe("b1");
    socket().open();
    expect(socket().sent).toEqual([]);
    socket().welcome();
    expect(socket().sent).toEqual([{ type: "subscribe", channel: "topic:a", since: "a2" }]);
    expect(client.lastIds()).toEqual({ "user:alice": "u2", "topic:a": "a2", broadcast: "b1" });
  });

  it("delivers a repeated id once per channel, and the same id on two channels to each", async () => {
    const { client, socket, seen, drop } = await start();
    const onTopic: string[] = [];
    client.subscribe("topic:a", (m) => {
      onTopic.push(m.id);
    });
    socket().welcome();
    socket().receive(msg("x1", "topic:a"));
    socket().receive(msg("x1", "topic:a"));
    socket().receive(msg("x1"));
    await drop();
    socket().welcome();
    socket().receive(msg("x1", "topic:a")); // replayed after a reconnect
    socket().receive(msg("x2", "topic:a"));
    expect(onTopic).toEqual(["x1", "x2"]);
    expect(seen).toEqual(["x1", "x1", "x2"]);
  });

  it("drops repeats only within its window", async () => {
    const { socket, seen } = await start({ dedupeWindow: 2 });
    socket().welcome();
    for (const id of ["a", "b", "a", "c", "a"]) socket().receive(msg(id));
    expect(seen).toEqual(["a", "b", "c", "a"]);
  });

  it("resumes from before a re-sent critical message that comes ahead of the replay", async () => {
    const { socket, seen, drop } = await start();
    socket().welcome();
    socket().receive(msg("m1"));
    await drop();
    socket().welcome();
    socket().receive(msg("m9", "user:alice", "critical")); // re-sent unacknowledged critical message
    await drop(); // dropped before the replay of m2..m8
    expect(socket().query.get("since")).toBe("m1");
    socket().welcome();
    socket().receive(msg("m2"));
    socket().receive(msg("m9", "user:alice", "critical"));
    expect(seen).toEqual(["m1", "m9", "m2"]);
  });

  it("surfaces history_gap as an event and other error frames as errors", async () => {
    const { client, socket } = await start();
    const gaps: string[] = [];
    const errors: string[] = [];
    client.on("history_gap", (c) => gaps.push(c));
    client.on("error", (e) => errors.push(`${e.code}:${e.channel}`));
    socket().welcome();
    socket().receive({ type: "error", code: "history_gap", message: "", channel: "user:alice" });
    socket().receive({ type: "error", code: "forbidden", message: "", channel: "secret" });
    expect(gaps).toEqual(["user:alice"]);
    expect(errors).toEqual(["forbidden:secret"]);
  });
});

describe("acks", () => {
  it("acks a critical message to the user once its handlers returned, and again when it is re-sent", async () => {
    const { socket, drop } = await start();
    socket().welcome();
    socket().receive(msg("c1", "user:alice", "critical"));
    socket().receive(msg("n1", "user:alice", "normal"));
    socket().receive(msg("t1", "broadcast", "critical"));
    expect(socket().sent).toEqual([{ type: "ack", id: "c1" }]);
    await drop();
    socket().welcome();
    socket().receive(msg("c1", "user:alice", "critical"));
    expect(socket().sent.filter((f) => f.type === "ack")).toEqual([{ type: "ack", id: "c1" }]);
  });

  it("waits for an async handler, and does not ack when a handler fails (the message comes again)", async () => {
    const { client, socket, seen } = await start();
    let release: () => void = () => undefined;
    const failing = new Set(["c2"]);
    client.subscribe("user:alice", (m) =>
      failing.has(m.id) ? Promise.reject(new Error("boom")) : new Promise<void>((r) => (release = r)),
    );
    const errors: string[] = [];
    client.on("error", (e) => errors.push(e.code));
    socket().welcome();
    socket().receive(msg("c1", "user:alice", "critical"));
    expect(socket().sent).toEqual([]);
    release();
    await settle();
    expect(socket().sent).toEqual([{ type: "ack", id: "c1" }]);
    socket().receive(msg("c2", "user:alice", "critical"));
    await settle();
    expect(errors).toEqual(["handler"]);
    failing.clear();
    socket().receive(msg("c2", "user:alice", "critical"));
    release();
    await settle();
    expect(seen).toEqual(["c1", "c2", "c2"]);
    expect(socket().sent).toEqual([
      { type: "ack", id: "c1" },
      { type: "ack", id: "c2" },
    ]);
  });

  it("with autoAck off, acks what the app acks, queued while disconnected", async () => {
    const { client, socket, drop } = await start({ autoAck: false });
    socket().welcome();
    socket().receive(msg("c1", "user:alice", "critical"));
    expect(socket().sent).toEqual([]);
    socket().serverClose(1006);
    client.ack("c1");
    await drop(1006);
    socket().welcome();
    expect(socket().sent).toEqual([{ type: "ack", id: "c1" }]);
  });
});

describe("close codes and back-off", () => {
  it("stops on 1000 and 1009, with the code and reason, also an empty one", async () => {
    const { socket, states } = await start();
    socket().welcome();
    socket().serverClose(1000, "");
    expect(states.at(-1)).toEqual({ state: "closed", code: 1000, reason: "" });

    for (const code of [1000, 1009]) {
      const { socket, states } = await start();
      socket().welcome();
      const count = FakeSocket.all.length;
      socket().serverClose(code, "bye");
      expect(states.at(-1)).toEqual({ state: "closed", code, reason: "bye" });
      expect(FakeSocket.all.length).toBe(count);
    }
  });

  it("reconnects at once on 1012, to the next URL of the list", async () => {
    const { socket, states, drop } = await start({ url: ["ws://a/v1/ws", "ws://b/v1/ws"] });
    expect(socket().url.startsWith("ws://a/v1/ws?")).toBe(true);
    socket().welcome();
    await drop(1012);
    expect(states.at(-2)).toMatchObject({ state: "reconnecting", code: 1012, delayMs: 0 });
    expect(socket().url.startsWith("ws://b/v1/ws?")).toBe(true);
  });

  it("fetches a fresh token on 4001 and reconnects at once; without getToken, 4001 closes", async () => {
    let n = 0;
    const { socket, states, drop } = await start({ token: undefined, getToken: () => `tok${++n}` });
    expect(socket().query.get("token")).toBe("tok1");
    socket().welcome();
    await drop(4001);
    expect(states.at(-2)).toMatchObject({ state: "reconnecting", code: 4001, delayMs: 0 });
    expect(socket().query.get("token")).toBe("tok2");
    socket().welcome();
    await drop(1006); // a drop while live keeps the token
    expect(socket().query.get("token")).toBe("tok2");
    await drop(1006); // an attempt that failed before welcome may have been refused for its token
    expect(socket().query.get("token")).toBe("tok3");

    const fixed = await start({ token: "static" });
    fixed.socket().welcome();
    fixed.socket().serverClose(4001, "");
    expect(fixed.states.at(-1)).toEqual({ state: "closed", code: 4001, reason: "token expired" });
  });

  it("backs off with full jitter, doubling to the bound, and starts over once live", async () => {
    const { socket, states, drop } = await start();
    for (let i = 0; i < 5; i++) await drop(1006);
    const delays = () => states.filter((s) => s.state === "reconnecting").map((s) => s.delayMs);
    expect(delays()).toEqual([99, 199, 399, 799, 799]);
    socket().welcome();
    await drop(1011);
    expect(delays().at(-1)).toBe(99);
  });

  it("close() closes the socket with 1000, and no retry follows", async () => {
    const { client, socket, states, clock } = await start();
    socket().welcome();
    const s = socket();
    client.close();
    clock.advance(60_000);
    expect(s.closedWith).toBe(1000);
    expect(states.at(-1)).toEqual({ state: "closed", code: 1000, reason: "closed by the application" });
    expect(FakeSocket.all.length).toBe(1);
  });
});

describe("heartbeats", () => {
  it("with ws, the edge's pings keep the connection; silence past heartbeat + grace reconnects", async () => {
    const { socket, states, clock } = await start({ heartbeatGraceMs: 5000 }, FakeWsSocket);
    const ws = socket() as FakeWsSocket;
    ws.welcome("alice", 10);
    for (let i = 0; i < 10; i++) {
      clock.advance(10_000);
      ws.ping();
    }
    expect(states.at(-1)?.state).toBe("live");
    expect(ws.sent).toEqual([]);
    clock.advance(14_999);
    expect(states.at(-1)?.state).toBe("live");
    clock.advance(1);
    expect(ws.closedWith).toBe("terminated");
    expect(states.at(-1)).toMatchObject({ state: "reconnecting", code: 1006, reason: "heartbeat missed" });
  });

  it("where pings cannot be seen (browsers), asks with a ping frame after a heartbeat of silence; a pong keeps it", async () => {
    const { socket, states, clock } = await start({ heartbeatGraceMs: 5000 });
    socket().welcome("alice", 10);
    clock.advance(10_000);
    expect(socket().sent).toEqual([{ type: "ping" }]);
    clock.advance(4000);
    socket().receive({ type: "pong" });
    clock.advance(9000);
    expect(states.at(-1)?.state).toBe("live");
    clock.advance(1000);
    expect(socket().sent).toEqual([{ type: "ping" }, { type: "ping" }]);
    clock.advance(5000);
    expect(states.at(-1)).toMatchObject({ state: "reconnecting", reason: "heartbeat missed" });
  });

  it("with keepAlive, pings after a heartbeat without sending, though frames keep coming", async () => {
    const { socket, clock } = await start({ keepAlive: true }, FakeWsSocket);
    socket().welcome("alice", 10);
    for (let i = 0; i < 5; i++) {
      clock.advance(4000);
      socket().receive(msg(`m${i}`));
    }
    expect(socket().sent).toEqual([{ type: "ping" }, { type: "ping" }]);
  });

  it("gives up on an attempt that sees no welcome within connectTimeoutMs", async () => {
    const { socket, states, clock } = await start({ connectTimeoutMs: 3000 });
    const first = socket();
    clock.advance(2999);
    expect(states.at(-1)?.state).toBe("connecting");
    clock.advance(1);
    expect(first.closedWith).toBeUndefined(); // the browser socket is closed without a code
    expect(states.at(-1)).toMatchObject({ state: "reconnecting", reason: "connect timed out" });
  });
});
