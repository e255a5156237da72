import type { Connection } from "./connection.js";

export interface PoolLimits {
  maxConnections: number;
  maxConnectionsPerUser: number;
}

export type Admission = "ok" | "node_full" | "user_full";

/**
 * The connections one edge holds, grouped per user (a user with several tabs has
 * several). A slot is taken at admission, before the async upgrade completes, so
 * concurrent upgrades cannot overshoot the limits; it is given back on release.
 */
export class ConnectionPool<S = unknown> {
  private readonly byUser = new Map<string, Set<Connection<S>>>();
  private readonly slotsByUser = new Map<string, number>();
  private slots = 0;

  constructor(private readonly limits: PoolLimits) {}

  admit(userId: string): Admission {
    if (this.slots >= this.limits.maxConnections) return "node_full";
    const n = this.slotsByUser.get(userId) ?? 0;
    if (n >= this.limits.maxConnectionsPerUser) return "user_full";
    this.slots++;
    this.slotsByUser.set(userId, n + 1);
    return "ok";
  }

  /** Gives back a slot taken by `admit` (upgrade aborted, or the connection closed). */
  release(userId: string, conn?: Connection<S>): void {
    const n = this.slotsByUser.get(userId) ?? 0;
    if (n <= 0) return;
    this.slots--;
    if (n === 1) this.slotsByUser.delete(userId);
    else this.slotsByUser.set(userId, n - 1);
    if (conn) {
      const set = this.byUser.get(userId);
      set?.delete(conn);
      if (set?.size === 0) this.byUser.delete(userId);
    }
  }

  /** Adds an admitted connection once its socket is open. */
  add(conn: Connection<S>): void {
    const userId = conn.identity.userId;
    let set = this.byUser.get(userId);
    if (!set) {
      set = new Set();
      this.byUser.set(userId, set);
    }
    set.add(conn);
  }

  /** Open connections of a user on this node (empty if none). */
  connectionsOf(userId: string): ReadonlySet<Connection<S>> {
    return this.byUser.get(userId) ?? EMPTY;
  }

  /** Connections admitted (open or opening). */
  get size(): number {
    return this.slots;
  }

  get userCount(): number {
    return this.byUser.size;
  }

  *all(): IterableIterator<Connection<S>> {
    for (const set of this.byUser.values()) yield* set;
  }
}

const EMPTY: ReadonlySet<never> = new Set();
