// Clients as a real one behaves: connect to any live edge, and on a close reconnect to
// another after a short, jittered back-off, resuming with `since` = the last id it received.
// Each records what it received, when it dropped, and when it was told of a history gap.
import { signToken } from "@herald/testkit";
import WebSocket from "ws";

export class ChaosClient {
  /** Message id -> times received. */
  received = new Map();
  /** Message id -> when first received (ms, on the run's clock). */
  firstReceipt = new Map();
  /** When `welcome` arrived, each time, and when the connection dropped after one. */
  opens = [];
  closes = [];
  /** The edge port of each connection in `opens`. */
  openPorts = [];
  /** When a `history_gap` arrived: what was sent before it may be missing for good. */
  gaps = [];
  /** The last message id received: the `since` of the next connection. */
  lastId = undefined;
  connected = false;
  #stopped = false;
  #attempt = 0;

  constructor(user, secret, ports, clock) {
    this.user = user;
    this.secret = secret;
    this.ports = ports; // () => the live edges' ports
    this.clock = clock;
  }

  async start() {
    this.token = await signToken(this.secret, this.user, {}, "1h");
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    this.ws?.terminate();
  }

  #connect() {
    if (this.#stopped) return;
    const ports = this.ports();
    const port = ports[this.#attempt++ % Math.max(1, ports.length)];
    const since = this.lastId ? `&since=${this.lastId}` : "";
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws?token=${this.token}${since}`);
    this.ws = ws;
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type === "welcome") {
        this.connected = true;
        this.opens.push(this.clock());
        this.openPorts.push(port);
      }
      if (frame.type === "error" && frame.code === "history_gap") this.gaps.push(this.clock());
      if (frame.type !== "message") return;
      this.lastId = frame.id;
      this.received.set(frame.id, (this.received.get(frame.id) ?? 0) + 1);
      if (!this.firstReceipt.has(frame.id)) this.firstReceipt.set(frame.id, this.clock());
    });
    ws.on("error", () => undefined); // refused or reset: the close below reconnects
    ws.on("close", () => {
      if (this.connected) this.closes.push(this.clock());
      this.connected = false;
      if (!this.#stopped) setTimeout(() => this.#connect(), 200 + Math.random() * 300);
    });
  }
}
