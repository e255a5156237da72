import type { Connection } from "./connection.js";

export interface PoolLimits {
  maxConnections: number;
  maxConnectionsPerUser: number;
}

export type Admission = "ok" | "node_full" | "user_full";

/** One user on this node: slots taken (open or opening) and the open connections. */
interface UserEntry<S> {
  slots: number;
  /**
   * Replaced, never mutated, on add and remove (rare next to deliveries, which only read
   * it). An exact-size array, since most users have one connection and a Set costs more
   * memory per user (docs/decisions/connection-memory.md).
   */
  open: readonly Connection<S>[];
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * The connections one edge holds, grouped per user (a user with several tabs has
 * several). A slot is taken at admission, in the upgrade handler before the socket
 * opens, so upgrades cannot overshoot the limits; it is given back on release.
 */
export class ConnectionPool<S = unknown> {
  private readonly users = new Map<string, UserEntry<S>>();
  private slots = 0;

  constructor(private readonly limits: PoolLimits) {}

  admit(userId: string): Admission {
    if (this.slots >= this.limits.maxConnections) return "node_full";
    const entry = this.users.get(userId);
    if (entry && entry.slots >= this.limits.maxConnectionsPerUser) return "user_full";
    this.slots++;
    if (entry) entry.slots++;
    else this.users.set(userId, { slots: 1, open: NONE });
    return "ok";
  }

  /** Gives back the slot `admit` took for a connection (closed, or admitted and never opened). */
  release(conn: Connection<S>): void {
    const userId = conn.identity.userId;
    const entry = this.users.get(userId);
    if (!entry) return;
    this.slots--;
    entry.slots--;
    if (entry.open.includes(conn)) {
      entry.open = entry.open.length === 1 ? NONE : entry.open.filter((c) => c !== conn);
    }
    if (entry.slots === 0) this.users.delete(userId);
  }

  /** Adds an admitted connection once its socket is open. */
  add(conn: Connection<S>): void {
    let entry = this.users.get(conn.identity.userId);
    if (!entry) {
      // Not admitted (cannot happen through the socket handler): count it rather than throw
      // inside a uWS callback, which would take every connection of the node down with it.
      this.slots++;
      entry = { slots: 1, open: NONE };
      this.users.set(conn.identity.userId, entry);
    }
    // Exact-size arrays: a spread would leave room for more (docs/decisions/connection-memory.md).
    entry.open = entry.open.length === 0 ? [conn] : entry.open.concat(conn);
  }

  /** Open connections of a user on this node (empty if none). */
  connectionsOf(userId: string): readonly Connection<S>[] {
    return this.users.get(userId)?.open ?? NONE;
  }

  /** Connections admitted (open or opening). */
  get size(): number {
    return this.slots;
  }

  *all(): IterableIterator<Connection<S>> {
    for (const entry of this.users.values()) yield* entry.open;
  }
}
