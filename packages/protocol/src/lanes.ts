import type { Priority } from "./priorities.js";

/**
 * Delivery lanes between workers and edges: critical and high travel in the urgent lane,
 * normal and low in the bulk lane. Each lane has its own pub/sub channels and its own
 * subscriber connection on the edge, so a bulk backlog never holds an urgent delivery up
 * (docs/decisions/lanes.md).
 */
export type Lane = "urgent" | "bulk";
export const LANES: readonly Lane[] = ["urgent", "bulk"];

export function laneOf(priority: Priority): Lane {
  return priority === "critical" || priority === "high" ? "urgent" : "bulk";
}
