export { type Edge, type EdgeDeps, type EdgeOptions, startEdge } from "./edge.js";
export type { DashboardSource } from "./http/dashboard-route.js";
export type { SigningSecret, TokenPolicy } from "./token-verifier.js";
