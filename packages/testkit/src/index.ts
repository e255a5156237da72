export {
  freePort,
  Keys,
  keySlot,
  type LocalCluster,
  type LocalClusterNode,
  type LocalRedis,
  startLocalCluster,
  startLocalRedis,
} from "@herald/redis";
export { type HeraldProcess, type LogLine, startHerald } from "./herald-process.js";
export { childPids, processAlive } from "./processes.js";
export { RecordingSocket } from "./recording-socket.js";
export { type RoutingFixture, routingConformance } from "./routing-conformance.js";
export { type Frame, TestClient } from "./test-client.js";
export { signToken } from "./tokens.js";
export { waitFor } from "./wait-for.js";
