export type { Bus, BusHandlers, BusSubscriber, DeliveryBatch } from "./bus.js";
export { MemoryRouting } from "./memory-routing.js";
export type { Presence, UserPresence } from "./presence.js";
