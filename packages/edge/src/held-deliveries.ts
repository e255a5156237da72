import { type Delivery, frameMessageId, userChannel } from "@herald/protocol";
import type { Conn } from "./socket/client-socket.js";

/**
 * Most deliveries held per connection and channel: a catch-up takes one Redis round trip,
 * so this many arriving meanwhile means Redis is stalled; past it the connection is closed
 * (1013) and resumes again with `since`, rather than holding without bound.
 */
export const MAX_HELD = 10_000;

/**
 * How long after a catch-up live copies of what it sent are dropped. A delivery published
 * before the history read can still reach the edge after it (its pub/sub payload travels on
 * another connection, and bulk payloads wait in the edge's inbox); it was in the replay.
 */
export const LATE_COPY_WINDOW_MS = 10_000;

/** One connection's state on one channel it is catching up on. */
export interface ChannelCatchUp {
  /** While catching up: the live deliveries held. Undefined once the catch-up is written. */
  held: Delivery[] | undefined;
  /** Once written: the ids it sent, whose late live copies are dropped for a while. */
  sent: ReadonlySet<string> | undefined;
}

/**
 * Live deliveries for connections catching up on a channel. While a connection's history
 * (and unacknowledged messages) are read and sent, what arrives live for that channel is held
 * here instead of written, then written after the catch-up, minus what it already sent: so
 * nothing published meanwhile is missed and nothing is sent twice. For a while after, a late
 * live copy of a message the catch-up sent is dropped.
 */
export class HeldDeliveries {
  /** Topic (or `broadcast`) -> connections catching up on it (not subscribed to the uWS topic meanwhile). */
  private readonly topics = new Map<string, Set<Conn>>();
  /** Connections that passed MAX_HELD on a channel: they cannot catch up whole, and are closed to resume again. */
  private readonly overflowed = new WeakSet<Conn>();

  constructor(private readonly windowMs = LATE_COPY_WINDOW_MS) {}

  /** Starts holding the connection's own user channel; the state is the catch-up's own. */
  holdUser(conn: Conn): ChannelCatchUp {
    const state: ChannelCatchUp = { held: [], sent: undefined };
    conn.held ??= new Map();
    conn.held.set(userChannel(conn.identity.userId), state);
    return state;
  }

  /** Starts holding a topic for the connection (a catch-up of it already running is superseded). */
  holdTopic(conn: Conn, topic: string): ChannelCatchUp {
    const state: ChannelCatchUp = { held: [], sent: undefined };
    conn.held ??= new Map();
    conn.held.set(topic, state);
    let set = this.topics.get(topic);
    if (!set) {
      set = new Set();
      this.topics.set(topic, set);
    }
    set.add(conn);
    return state;
  }

  /** A user delivery for `conn`: true when taken here (held, or dropped as a late copy); false to deliver it as usual. */
  heldForUser(conn: Conn, d: Delivery): boolean {
    const state = conn.held?.get(userChannel(d.target));
    if (state === undefined) return false;
    if (state.held) {
      this.push(conn, state.held, d);
      return true;
    }
    return isLateCopy(state, d);
  }

  /**
   * A topic (or broadcast) delivery for the connections catching up on it: held, or (after
   * their catch-up) written to each unless a late copy. Returns how many connections took it.
   */
  holdForTopic(topic: string, d: Delivery): number {
    const set = this.topics.get(topic);
    if (set === undefined) return 0;
    let n = 0;
    for (const conn of set) {
      const state = conn.held?.get(topic);
      if (state?.held) this.push(conn, state.held, d);
      else if (state && !isLateCopy(state, d)) conn.socket?.send(d.frame, false, false);
      else continue;
      n++;
    }
    return n;
  }

  /** Whether the connection held more than MAX_HELD deliveries of a channel (and dropped the rest). */
  overflowedOn(conn: Conn): boolean {
    return this.overflowed.has(conn);
  }

  /**
   * Ends the hold a catch-up started; returns what was held, in arrival order, or undefined
   * when that hold is no longer the channel's (released, or superseded by a later subscribe).
   */
  take(conn: Conn, channel: string, state: ChannelCatchUp): Delivery[] | undefined {
    if (conn.held?.get(channel) !== state || state.held === undefined) return undefined;
    const list = state.held;
    state.held = undefined;
    return list;
  }

  /**
   * After the catch-up was written: drops late live copies of `sent` for the window, then
   * forgets the channel and calls `done` (a topic's connection then subscribes to the uWS topic).
   */
  filterLateCopies(
    conn: Conn,
    channel: string,
    state: ChannelCatchUp,
    sent: ReadonlySet<string>,
    done: () => void,
  ): void {
    if (conn.held?.get(channel) !== state) return;
    state.sent = sent;
    const timer = setTimeout(() => {
      if (conn.held?.get(channel) !== state) return; // released meanwhile (unsubscribed, closed)
      this.release(conn, channel);
      done();
    }, this.windowMs);
    timer.unref();
  }

  /** Forgets a channel for the connection (unsubscribed, or the catch-up ended). */
  release(conn: Conn, channel: string): void {
    conn.held?.delete(channel);
    if (conn.held?.size === 0) conn.held = undefined;
    const set = this.topics.get(channel);
    if (set?.delete(conn) && set.size === 0) this.topics.delete(channel);
  }

  /** Forgets a closed connection. */
  releaseAll(conn: Conn): void {
    for (const channel of [...(conn.held?.keys() ?? [])]) this.release(conn, channel);
  }

  private push(conn: Conn, list: Delivery[], d: Delivery): void {
    if (list.length < MAX_HELD) list.push(d);
    else this.overflowed.add(conn);
  }
}

function isLateCopy(state: ChannelCatchUp, d: Delivery): boolean {
  const id = frameMessageId(d.frame);
  return id !== undefined && state.sent?.has(id) === true;
}
