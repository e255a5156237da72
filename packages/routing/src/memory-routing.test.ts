import { routingConformance } from "@herald/testkit";
import { MemoryRouting } from "./memory-routing.js";

routingConformance("in memory", async () => {
  const routing = new MemoryRouting();
  return {
    presence: (nodeId) => routing.presence(nodeId),
    subscriber: (nodeId) => routing.subscriber(nodeId),
    bus: () => routing.bus(),
    kill: async (nodeId) => routing.kill(nodeId),
    held: async (nodeId, lane) => routing.held(nodeId, lane),
    close: async () => undefined,
  };
});
