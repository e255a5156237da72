export { type BusKeeping, MAX_BYTES_PER_CALL, MAX_DELIVERIES_PER_CALL, RedisBus, RedisBusSubscriber } from "./bus.js";
export {
  CLIENT_NAME_PREFIX,
  type ConnectionOptions,
  closeRedis,
  connectRedis,
  heraldConnectionName,
  isClusterConnection,
  masterConnections,
  waitReady,
} from "./connection.js";
export { RedisHistory } from "./history.js";
export { type KeyLayout, Keys } from "./keys.js";
export { NODE_LIVENESS_MS, redisTimeMs } from "./liveness.js";
export {
  type LocalCluster,
  type LocalClusterNode,
  type LocalClusterOptions,
  startLocalCluster,
} from "./local-cluster.js";
export { diesWithParent, freePort, type LocalRedis, redisReachable, startLocalRedis } from "./local-server.js";
export { NodeStats, type NodeStatsEntry, STATS_TTL_MS } from "./node-stats.js";
export { RedisPresence } from "./presence.js";
export { type Destination, type InterestChange, type ReserveReply, ScriptCalls } from "./script-calls.js";
export { defineScripts, type ScriptedRedis } from "./scripts.js";
export { RedisShardedBusSubscriber } from "./sharded-subscriber.js";
export { keySlot } from "./slots.js";
export { TurnSignals } from "./turn-signals.js";
