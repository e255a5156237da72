import { type Delivery, userChannel } from "@herald/protocol";
import type { Conn } from "./socket/client-socket.js";

/**
 * Deliveries held for connections catching up on a channel. While a connection's history
 * (and unacknowledged messages) are read and sent, what arrives live for that channel is held
 * here instead of written, then written after the catch-up, minus what it already sent: so
 * nothing published meanwhile is missed and nothing is sent twice.
 */
export class HeldDeliveries {
  /** Topic -> connections holding it (they are not subscribed to the uWS topic meanwhile). */
  private readonly topics = new Map<string, Set<Conn>>();

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
    list.push(d);
    return true;
  }

  /** Holds a topic delivery for every connection holding the topic; returns how many. */
  holdForTopic(topic: string, d: Delivery): number {
    const set = this.topics.get(topic);
    if (set === undefined) return 0;
    for (const conn of set) conn.held?.get(topic)?.push(d);
    return set.size;
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
