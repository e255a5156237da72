export { type BusKeeping, MAX_BYTES_PER_CALL, MAX_DELIVERIES_PER_CALL, RedisBus, RedisBusSubscriber } from "./bus.js";
export { CLIENT_NAME_PREFIX, type ConnectionOptions, closeRedis, connectRedis, waitReady } from "./connection.js";
export { RedisHistory } from "./history.js";
export { Keys } from "./keys.js";
export { NODE_LIVENESS_MS, redisTimeMs } from "./liveness.js";
export { diesWithParent, freePort, type LocalRedis, redisReachable, startLocalRedis } from "./local-server.js";
export { RedisPresence } from "./presence.js";
export { type Destination, type InterestChange, type ReserveReply, ScriptCalls } from "./script-calls.js";
export { defineScripts, type ScriptedRedis } from "./scripts.js";
