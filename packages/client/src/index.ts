export { type Backoff, backoffDelay } from "./backoff.js";
export { connect, HeraldClient } from "./client.js";
export { type CloseDecision, closeDecision } from "./close-codes.js";
export type {
  ClientError,
  ClientEvents,
  Clock,
  ConnectOptions,
  Message,
  MessageHandler,
  Priority,
  SocketLike,
  State,
  StateChange,
  Welcome,
} from "./types.js";
