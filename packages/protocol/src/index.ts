export * from "./channels.js";
export * from "./codes.js";
export * from "./errors.js";
export * from "./frames.js";
export * from "./ids.js";
export * from "./message.js";
export * from "./priorities.js";
