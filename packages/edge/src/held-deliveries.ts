import { type Delivery, userChannel } from "@herald/protocol";
import type { Conn } from "./socket/client-socket.js";

/**
 * Most deliveries held per connection and channel: a catch-up takes one Redis round trip,
 * so this many arriving meanwhile means Redis is stalled; past it the connection is closed
 * (1013) and resumes again with `since`, rather than holding without bound.
 */
export const MAX_HELD = 10_000;

/**
 * Deliveries held for connections catching up on a channel. While a connection's history
 * (and unacknowledged messages) are read and sent, what arrives live for that channel is held
 * here instead of written, then written after the catch-up, minus what it already sent: so
 * nothing published meanwhile is missed and nothing is sent twice.
 */
export class HeldDeliveries {
  /** Topic (or `broadcast`) -> connections holding it (they are not subscribed to the uWS topic meanwhile). */
  private readonly topics = new Map<string, Set<Conn>>();
  /** Connections that passed MAX_HELD on a channel: they cannot catch up whole, and are closed to resume again. */
  private readonly overflowed = new WeakSet<Conn>();

  /** Starts holding the connection's own user channel. */
  holdUser(conn: Conn): void {
    conn.held ??= new Map();
    conn.held.set(userChannel(conn.identity.userId), []);
  }

  /** Starts holding a topic for the connection. */
  holdTopic(conn: Conn, topic: string): void {
    conn.held ??= new Map();
    conn.held.set(topic, []);
    let set = this.topics.get(topic);
    if (!set) {
      set = new Set();
      this.topics.set(topic, set);
    }
    set.add(conn);
  }

  /** Holds a user delivery for `conn` if it holds its channel; true when held. */
  heldForUser(conn: Conn, d: Delivery): boolean {
    const list = conn.held?.get(userChannel(d.target));
    if (list === undefined) return false;
    this.push(conn, list, d);
    return true;
  }

  /** Holds a topic (or broadcast) delivery for every connection holding that channel; returns how many. */
  holdForTopic(topic: string, d: Delivery): number {
    const set = this.topics.get(topic);
    if (set === undefined) return 0;
    for (const conn of set) {
      const list = conn.held?.get(topic);
      if (list) this.push(conn, list, d);
    }
    return set.size;
  }

  /** Whether the connection held more than MAX_HELD deliveries of a channel (and dropped the rest). */
  overflowedOn(conn: Conn): boolean {
    return this.overflowed.has(conn);
  }

  private push(conn: Conn, list: Delivery[], d: Delivery): void {
    if (list.length < MAX_HELD) list.push(d);
    else this.overflowed.add(conn);
  }

  /** Stops holding a channel for the connection; returns what was held, in arrival order. */
  release(conn: Conn, channel: string): Delivery[] {
    const list = conn.held?.get(channel) ?? [];
    conn.held?.delete(channel);
    if (conn.held?.size === 0) conn.held = undefined;
    const set = this.topics.get(channel);
    if (set?.delete(conn) && set.size === 0) this.topics.delete(channel);
    return list;
  }

  /** Forgets a closed connection. */
  releaseAll(conn: Conn): void {
    for (const channel of [...(conn.held?.keys() ?? [])]) this.release(conn, channel);
  }
}
