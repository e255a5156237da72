export { type BusHandlers, type DeliveryBatch, RedisBus, RedisBusSubscriber } from "./bus.js";
export { readBusBacklog, type SubscriberBacklog } from "./bus-backlog.js";
export { type ConnectionOptions, closeRedis, connectRedis, waitReady } from "./connection.js";
export { type Delivery, type DeliveryKind, decodeDeliveries, encodeDeliveries } from "./deliveries.js";
export { Keys, type Lane, laneOf } from "./keys.js";
export { freePort, type LocalRedis, redisReachable, startLocalRedis } from "./local-server.js";
export { NODE_LIVENESS_MS, RedisPresence, redisTimeMs, type UserPresence } from "./presence.js";
export { defineScripts, type ScriptCommands, type ScriptedRedis } from "./scripts.js";
