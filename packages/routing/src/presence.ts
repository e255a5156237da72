/** Where one user is connected, cluster-wide. */
export interface UserPresence {
  user: string;
  online: boolean;
  connections: number;
  /** Live nodes holding at least one of the user's connections. */
  nodes: string[];
}

/**
 * Which nodes hold which users and topics: kept by the edges, read when the bus routes.
 * One instance per edge node (it speaks for that node).
 *
 * - Once `addConnection` / `addSubscriber` has resolved, a delivery routed afterwards
 *   includes this node; once the count of a user or topic on this node is back to 0, it no
 *   longer does.
 * - Changes apply in call order (an add and a remove made together end at the right count).
 * - Counts are per node: each call resolves with this node's new count for that user or topic.
 * - Liveness: a node counts only while it heartbeats (every few seconds); `heartbeat`
 *   also removes the interests of nodes that stopped, and returns their ids.
 * - Healing: `heartbeat` says when this node was missing from the live set (Redis lost its
 *   state, or other nodes found it dead while it could not beat): its interests are gone
 *   then, and `restore` puts them back.
 */
export interface Presence {
  addConnection(user: string): Promise<number>;
  removeConnection(user: string): Promise<number>;
  addSubscriber(topic: string): Promise<number>;
  removeSubscriber(topic: string): Promise<number>;
  heartbeat(): Promise<Heartbeat>;
  /**
   * Sets this node's interests to exactly `snapshot` (user -> its connections here; topics
   * with subscribers here), overwriting what Redis holds: idempotent. Changes asked for
   * before the call apply before it, changes asked for after apply on top of it.
   */
  restore(snapshot: InterestSnapshot): Promise<void>;
  lookup(user: string): Promise<UserPresence>;
}

export interface Heartbeat {
  /**
   * This node's interests may be gone: it was not in the live set (its first beat, Redis lost
   * it, or other nodes reaped it), or its connection to Redis came back since the last beat.
   */
  joined: boolean;
  /** Nodes found dead (and reaped) by this beat. */
  dead: string[];
}

/** What one node holds: each user's connections on it, and the topics it has subscribers for. */
export interface InterestSnapshot {
  users: ReadonlyMap<string, number>;
  topics: Iterable<string>;
}
