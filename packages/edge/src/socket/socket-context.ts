import type { Logger } from "@herald/observability";
import type { Presence } from "@herald/routing";
import type { ConnectionPool } from "../connection-pool.js";
import type { EdgeMetrics } from "../edge-metrics.js";
import type { TopicInterest } from "../topic-interest.js";
import type { ClientSocket } from "./client-socket.js";

export interface SocketOptions {
  nodeId: string;
  heartbeatSeconds: number;
  maxFrameBytes: number;
  framesPerSecond: number;
  frameBurst: number;
  maxSubscriptions: number;
}

/** What the socket handler's parts share: this node's limits and the components they act on. */
export interface SocketContext {
  options: SocketOptions;
  pool: ConnectionPool<ClientSocket>;
  topics: TopicInterest;
  presence: Presence;
  metrics: EdgeMetrics;
  log: Logger;
}
