import type { Logger } from "@herald/observability";
import type { History, Presence } from "@herald/routing";
import type { ConnectionPool } from "../connection-pool.js";
import type { EdgeMetrics } from "../edge-metrics.js";
import type { HeldDeliveries } from "../held-deliveries.js";
import type { TopicInterest } from "../topic-interest.js";
import type { ClientSocket } from "./client-socket.js";

export interface SocketOptions {
  nodeId: string;
  heartbeatSeconds: number;
  maxFrameBytes: number;
  framesPerSecond: number;
  frameBurst: number;
  maxSubscriptions: number;
  /** Most history entries one `since` replays. */
  replayLimit: number;
  /** A socket with more than this unsent after its replay is closed (1013). */
  maxBackpressureBytes: number;
}

/** What the socket handler's parts share: this node's limits and the components they act on. */
export interface SocketContext {
  options: SocketOptions;
  pool: ConnectionPool<ClientSocket>;
  topics: TopicInterest;
  presence: Presence;
  history: History;
  /** Live deliveries held while connections catch up on a channel. */
  held: HeldDeliveries;
  metrics: EdgeMetrics;
  log: Logger;
}
