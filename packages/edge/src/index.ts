export { type Edge, type EdgeDeps, type EdgeOptions, startEdge } from "./edge.js";
export { loadNativeUws } from "./native-uws.js";
export type { SigningSecret, TokenPolicy } from "./token-verifier.js";
