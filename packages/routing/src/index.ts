export type { Bus, BusHandlers, BusSubscriber, DeliveryBatch } from "./bus.js";
export { MemoryRouting } from "./memory-routing.js";
export type { Heartbeat, InterestSnapshot, Presence, UserPresence } from "./presence.js";
