export { backoffMs } from "./backoff.js";
export {
  type HandledMessage,
  type Handler,
  type HandlerContext,
  HandlerRegistry,
  type HandlerResult,
  type HandlersModule,
} from "./handler-registry.js";
export { type HeraldWorker, startWorker, type WorkerDeps, type WorkerOptions } from "./worker.js";
