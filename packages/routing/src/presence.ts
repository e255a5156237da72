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
 */
export interface Presence {
  addConnection(user: string): Promise<number>;
  removeConnection(user: string): Promise<number>;
  addSubscriber(topic: string): Promise<number>;
  removeSubscriber(topic: string): Promise<number>;
  heartbeat(): Promise<string[]>;
  lookup(user: string): Promise<UserPresence>;
}
