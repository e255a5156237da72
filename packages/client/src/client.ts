import { backoffDelay } from "./backoff.js";
import { closeDecision } from "./close-codes.js";
import { RecentIds } from "./recent-ids.js";
import type {
  ClientError,
  ClientEvents,
  Clock,
  ConnectOptions,
  Message,
  MessageHandler,
  SocketLike,
  State,
  StateChange,
  Welcome,
} from "./types.js";

/** The globals the client uses, in browsers and in Node alike. */
interface Globals {
  WebSocket?: new (url: string) => unknown;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}
const globals = globalThis as unknown as Globals;
const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globals.setTimeout(fn, ms),
  clearTimeout: (handle) => globals.clearTimeout(handle),
};

type Listeners = { [K in keyof ClientEvents]: Set<ClientEvents[K]> };
type Frame = { type?: string; channel?: string };

/** Topics need a `subscribe` frame; a user's own channel and `broadcast` arrive without one. */
const isTopic = (channel: string) => channel !== "broadcast" && !channel.startsWith("user:");
const errorText = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause));
/** Acks remembered while disconnected: the edge keeps at most 100 unacknowledged messages per user. */
const MAX_PENDING_ACKS = 1000;

/** Opens a client; it connects at once, and keeps connecting until `close()` or a close not to retry. */
export function connect(options: ConnectOptions): HeraldClient {
  return new HeraldClient(options);
}

export class HeraldClient {
  private socket: SocketLike | undefined;
  private current: State = "connecting";
  private live = false;
  private closed = false;
  private attempt = 0;
  private tries = 0;
  private token: string | undefined;
  private freshToken: boolean;
  private welcomed: Welcome | undefined;
  /** After a resume of the user channel: critical messages may be re-sends that come before the replay. */
  private settling = false;
  private lastSeen = 0;
  private lastSent = 0;
  private outbox: string[] = [];
  private credit = 0;
  private creditAt = 0;
  private flushTimer: unknown;
  private silenceMs = 0;
  private graceMs = 0;
  private probe = false;
  private watchdog: unknown;
  private retry: unknown;
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private readonly listeners: Listeners = {
    message: new Set(),
    state: new Set(),
    history_gap: new Set(),
    subscribed: new Set(),
    error: new Set(),
  };
  private readonly last = new Map<string, string>();
  private readonly recent = new Map<string, RecentIds>();
  private readonly acked: RecentIds;
  private pendingAcks: string[] = [];
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly autoAck: boolean;

  constructor(private readonly options: ConnectOptions) {
    if (options.token === undefined && !options.getToken) throw new TypeError("connect: give token or getToken");
    if (!(options.WebSocket ?? globals.WebSocket)) {
      throw new TypeError("connect: no global WebSocket here; pass one (such as ws's) as the WebSocket option");
    }
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.autoAck = options.autoAck ?? true;
    this.token = options.token;
    this.freshToken = options.token === undefined;
    this.acked = new RecentIds(options.dedupeWindow ?? 500);
    for (const [channel, id] of Object.entries(options.resume ?? {})) this.last.set(channel, id);
    // Started after this tick, so that handlers attached right after connect() see every event.
    void Promise.resolve().then(() => this.open());
  }

  /** The connection's state now. */
  get state(): State {
    return this.current;
  }

  /** The last `welcome`: user, connection and edge ids. */
  get welcome(): Welcome | undefined {
    return this.welcomed;
  }

  /** The last id the application saw per channel: keep it to resume a later session (`resume`). */
  lastIds(): Record<string, string> {
    return Object.fromEntries(this.last);
  }

  /**
   * Calls `handler` with each message of `channel` (a topic, the user's `user:<id>`, or
   * `broadcast`). A topic is subscribed now if live, else on the next connection, and again
   * after every reconnect, from the last id seen. Returns the function that unsubscribes.
   */
  subscribe<T = unknown>(channel: string, handler: MessageHandler<T>): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      if (isTopic(channel) && this.live) this.sendSubscribe(channel);
    }
    set.add(handler as MessageHandler);
    return () => this.unsubscribe(channel, handler as MessageHandler);
  }

  /** Listens to an event; returns the function that stops listening. */
  on<K extends keyof ClientEvents>(event: K, handler: ClientEvents[K]): () => void {
    this.listeners[event].add(handler);
    return () => this.listeners[event].delete(handler);
  }

  /** Acknowledges a critical message (with `autoAck: false`); sent on the next connection if not live. */
  ack(id: string): void {
    this.acked.add(id);
    if (this.live) this.send({ type: "ack", id });
    else if (!this.pendingAcks.includes(id)) this.pendingAcks = [...this.pendingAcks, id].slice(-MAX_PENDING_ACKS);
  }

  /** Closes for good (state `closed`, code 1000). */
  close(): void {
    if (this.closed) return;
    const socket = this.socket;
    this.drop();
    this.clock.clearTimeout(this.retry);
    socket?.close(1000);
    this.finish(1000, "closed by the application");
  }

  private async open(): Promise<void> {
    if (this.closed) return;
    let url: string;
    let token: string;
    try {
      url = await this.nextUrl();
    } catch (cause) {
      return this.failed("url", cause);
    }
    try {
      token = await this.currentToken();
    } catch (cause) {
      return this.failed("token", cause);
    }
    if (this.closed) return;
    this.setState({ state: "connecting", url, attempt: this.attempt });
    try {
      const WebSocket = (this.options.WebSocket ?? globals.WebSocket) as new (url: string) => SocketLike;
      this.attach(new WebSocket(this.withQuery(url, token)));
    } catch (cause) {
      this.failed("socket", cause);
    }
  }

  private async nextUrl(): Promise<string> {
    const url = this.options.url;
    const n = this.tries++;
    if (typeof url === "string") return url;
    if (typeof url === "function") return url(n);
    return url[n % url.length] as string;
  }

  private async currentToken(): Promise<string> {
    const getToken = this.options.getToken;
    if (getToken && (this.freshToken || this.token === undefined)) {
      this.token = await getToken();
      this.freshToken = false;
    }
    return this.token as string;
  }

  /** The URL with the token and, when resuming, `since` for the user's channel. */
  private withQuery(url: string, token: string): string {
    const since = this.userSince();
    // On the URL, not in a frame after open: answered with welcome, so no live broadcast can
    // come ahead of the replay of those missed.
    const broadcast = this.last.get("broadcast");
    const query =
      `token=${encodeURIComponent(token)}${since ? `&since=${encodeURIComponent(since)}` : ""}` +
      (broadcast ? `&broadcastSince=${encodeURIComponent(broadcast)}` : "");
    return `${url}${url.includes("?") ? "&" : "?"}${query}`;
  }

  private get userChannel(): string | undefined {
    return this.welcomed && `user:${this.welcomed.userId}`;
  }

  private userSince(): string | undefined {
    const channel = this.userChannel;
    if (channel) return this.last.get(channel);
    for (const [c, id] of this.last) if (c.startsWith("user:")) return id; // from `resume`, before any welcome
    return undefined;
  }

  private attach(socket: SocketLike): void {
    this.socket = socket;
    socket.onmessage = (ev) => this.onFrame(ev.data);
    socket.onclose = (ev) => {
      if (this.socket === socket) this.closedSocket(ev.code, ev.reason);
    };
    // Safe to ignore: every error is followed by a close, which decides what happens next.
    socket.onerror = () => undefined;
    // Where the socket reports the edge's pings (ws), they prove the connection alive; elsewhere we ask.
    this.probe = typeof socket.on !== "function";
    socket.on?.("ping", () => this.alive());
    this.arm(this.options.connectTimeoutMs ?? 15_000, 0);
  }

  /** Forgets the socket: no more events from it. */
  private drop(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.live = false;
    this.outbox = [];
    this.clock.clearTimeout(this.watchdog);
    this.clock.clearTimeout(this.flushTimer);
    if (!socket) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.removeAllListeners?.("ping");
  }

  private closedSocket(code: number, reason: string): void {
    const wasLive = this.live;
    this.drop();
    if (this.closed) return;
    const decision = closeDecision(code);
    const getToken = this.options.getToken;
    if (decision === "stop" || (decision === "token" && !getToken)) {
      this.finish(code, reason || (decision === "token" ? "token expired" : ""));
      return;
    }
    // An attempt that failed before welcome may have been refused for its token (HTTP 401).
    if (decision === "token" || (!wasLive && getToken)) this.freshToken = true;
    const immediate = wasLive && decision !== "backoff";
    const delayMs = immediate ? 0 : backoffDelay(this.attempt++, this.options.backoff ?? {}, this.random);
    this.setState({ state: "reconnecting", code, reason, delayMs, attempt: this.attempt });
    this.retry = this.clock.setTimeout(() => void this.open(), delayMs);
  }

  private failed(code: string, cause: unknown): void {
    this.emit("error", { code, message: errorText(cause), cause });
    this.closedSocket(1006, `${code}: ${errorText(cause)}`);
  }

  private finish(code: number, reason: string): void {
    this.closed = true;
    this.setState({ state: "closed", code, reason });
  }

  private onFrame(data: unknown): void {
    this.alive();
    if (typeof data !== "string") return;
    let frame: Frame;
    try {
      frame = JSON.parse(data) as Frame;
    } catch {
      return; // the edge sends JSON only; anything else is not for us
    }
    if (frame.type === "message") this.onMessage(frame as unknown as Message);
    else if (frame.type === "welcome") this.onWelcome(frame as unknown as Welcome);
    else if (frame.type === "error") this.onError(frame as unknown as ClientError);
    else if (frame.type === "subscribed") this.emit("subscribed", frame.channel as string);
  }

  private onWelcome(welcome: Welcome): void {
    this.welcomed = welcome;
    this.live = true;
    this.credit = 2 * (this.options.maxFramesPerSecond ?? 40); // the edge's bucket starts full
    this.creditAt = this.clock.now();
    this.attempt = 0;
    this.settling = this.userSince() !== undefined;
    const heartbeatMs = welcome.heartbeat > 0 ? welcome.heartbeat * 1000 : 25_000;
    this.arm(heartbeatMs, this.options.heartbeatGraceMs ?? 10_000);
    for (const channel of this.handlers.keys()) if (isTopic(channel)) this.sendSubscribe(channel);
    const acks = this.pendingAcks;
    this.pendingAcks = [];
    for (const id of acks) this.send({ type: "ack", id });
    this.setState({ state: "live", welcome });
  }

  private onError(error: ClientError): void {
    if (error.code === "history_gap" && error.channel) this.emit("history_gap", error.channel);
    else this.emit("error", { code: error.code, message: error.message, channel: error.channel });
  }

  private onMessage(message: Message): void {
    const { channel, id } = message;
    if (isTopic(channel) && !this.handlers.has(channel)) return; // unsubscribed meanwhile
    const user = channel === this.userChannel;
    const critical = user && message.priority === "critical";
    const recent = this.recent.get(channel) ?? new RecentIds(this.options.dedupeWindow ?? 500);
    this.recent.set(channel, recent);
    if (!recent.add(id)) {
      // Seen already: a critical message is re-sent until acknowledged, so acknowledge it again.
      if (critical && (this.autoAck || this.acked.has(id))) this.send({ type: "ack", id });
      return;
    }
    if (user && !critical) this.settling = false;
    // A re-sent critical message may come before older messages of the replay: resume from before it.
    if (!(critical && this.settling)) this.last.set(channel, id);
    this.dispatch(message, critical);
  }

  /** Runs the handlers; acknowledges a critical message once they all returned (or resolved). */
  private dispatch(message: Message, critical: boolean): void {
    const pending: unknown[] = [];
    let failure: { cause: unknown } | undefined;
    for (const handler of [...(this.handlers.get(message.channel) ?? []), ...this.listeners.message]) {
      try {
        const result = handler(message);
        if (result && typeof result.then === "function") pending.push(result);
      } catch (cause) {
        failure = { cause };
      }
    }
    if (failure) {
      this.handlerFailed(message, failure.cause);
    } else if (critical && this.autoAck) {
      const ack = () => this.ack(message.id);
      if (pending.length === 0) ack();
      else Promise.all(pending).then(ack, (cause: unknown) => this.handlerFailed(message, cause));
    }
  }

  /** Not acknowledged, and forgotten: a critical message comes again on the next connection. */
  private handlerFailed(message: Message, cause: unknown): void {
    this.recent.get(message.channel)?.delete(message.id);
    this.emit("error", { code: "handler", message: errorText(cause), channel: message.channel, cause });
  }

  private unsubscribe(channel: string, handler: MessageHandler): void {
    const set = this.handlers.get(channel);
    if (!set?.delete(handler) || set.size > 0) return;
    this.handlers.delete(channel);
    if (!isTopic(channel)) return;
    // A later subscribe starts live, not from where this one stopped.
    this.last.delete(channel);
    this.recent.delete(channel);
    if (this.live) this.send({ type: "unsubscribe", channel });
  }

  private sendSubscribe(channel: string): void {
    const since = this.last.get(channel);
    this.send(since ? { type: "subscribe", channel, since } : { type: "subscribe", channel });
  }

  private send(frame: object): void {
    if (!this.live) return;
    this.outbox.push(JSON.stringify(frame));
    this.flush();
  }

  /** Sends what the edge's frame rate limit allows now (a token bucket like the edge's), the rest later. */
  private readonly flush = (): void => {
    const now = this.clock.now();
    const rate = this.options.maxFramesPerSecond ?? 40;
    this.credit = Math.min(2 * rate, this.credit + ((now - this.creditAt) * rate) / 1000);
    this.creditAt = now;
    for (; this.outbox.length > 0 && this.credit >= 1; this.credit--) {
      this.lastSent = now;
      this.socket?.send(this.outbox.shift() as string);
    }
    this.clock.clearTimeout(this.flushTimer);
    if (this.outbox.length > 0) this.flushTimer = this.clock.setTimeout(this.flush, Math.ceil(1000 / rate));
  };

  private alive(): void {
    this.lastSeen = this.clock.now();
  }

  /** Watches for silence: nothing from the edge for `silenceMs + graceMs` means the connection is dead. */
  private arm(silenceMs: number, graceMs: number): void {
    this.silenceMs = silenceMs;
    this.graceMs = graceMs;
    this.alive();
    this.lastSent = this.clock.now();
    this.clock.clearTimeout(this.watchdog);
    this.watchdog = this.clock.setTimeout(this.tick, silenceMs);
  }

  private readonly tick = (): void => {
    const now = this.clock.now();
    const quiet = now - this.lastSeen;
    const limit = this.silenceMs + this.graceMs;
    if (quiet >= limit) {
      this.dead();
      return;
    }
    // Ask for a pong when the socket cannot report pings; with keepAlive, also keep the idle timeout away.
    const ask =
      (this.probe && quiet >= this.silenceMs) || (this.options.keepAlive && now - this.lastSent >= this.silenceMs);
    if (ask) this.send({ type: "ping" });
    const untilProbe = this.probe && quiet < this.silenceMs ? this.silenceMs - quiet : limit - quiet;
    const untilKeepAlive = this.options.keepAlive ? this.silenceMs - (this.clock.now() - this.lastSent) : limit;
    this.watchdog = this.clock.setTimeout(this.tick, Math.max(1, Math.min(untilProbe, untilKeepAlive, limit - quiet)));
  };

  private dead(): void {
    const socket = this.socket;
    if (!socket) return;
    this.closedSocket(1006, this.live ? "heartbeat missed" : "connect timed out"); // forgets the socket first
    if (socket.terminate) socket.terminate();
    else socket.close();
  }

  private setState(change: StateChange): void {
    this.current = change.state;
    this.emit("state", change);
  }

  private emit<K extends keyof ClientEvents>(event: K, arg: Parameters<ClientEvents[K]>[0]): void {
    for (const listener of this.listeners[event]) {
      try {
        (listener as (a: typeof arg) => void)(arg);
      } catch (cause) {
        if (event !== "error") this.emit("error", { code: "handler", message: errorText(cause), cause });
      }
    }
  }
}
