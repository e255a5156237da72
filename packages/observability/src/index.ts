export { type OpsServer, startOpsServer } from "./http-server.js";
export { createLogger, type Logger } from "./logger.js";
export {
  Counter,
  createRegistry,
  Gauge,
  gaugeReadAtScrape,
  Histogram,
  LATENCY_BUCKETS,
  pendingDriftCounter,
  queueWaitingGauge,
  Registry,
} from "./metrics.js";
export { onShutdown } from "./shutdown.js";
export { type MetricsSnapshot, metricsSnapshot, type SnapshotSample } from "./snapshot.js";
