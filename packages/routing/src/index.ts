export type { Bus, BusHandlers, BusSubscriber, DeliveryBatch, DeliveryOutcome } from "./bus.js";
export type { History, ResumeRequest, ResumeResult } from "./history.js";
export { MemoryRouting } from "./memory-routing.js";
export type { Heartbeat, InterestSnapshot, Presence, UserPresence } from "./presence.js";
