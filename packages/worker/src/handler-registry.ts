import type { Priority, Target } from "@herald/protocol";

/** What a handler sees: an accepted message. */
export interface HandledMessage {
  id: string;
  to: Target;
  event: string;
  data: unknown;
  priority: Priority;
  /** Accepted at (ms since the epoch). */
  ts: number;
}

export interface HandlerContext {
  /** Aborted when the processing timeout passes: stop work and return. */
  signal: AbortSignal;
  /** Attempts already made for this message (0 on the first). */
  attempt: number;
}

/**
 * What a handler returns:
 * - `undefined`: deliver the message unchanged;
 * - a message: deliver this one instead (transform, or re-target);
 * - an array: deliver each (fan out to several targets); `[]` or `null`: drop it.
 * Throwing (or timing out) retries the message with back-off, then dead-letters it.
 */
export type HandlerResult = HandledMessage | HandledMessage[] | null | undefined;
export type Handler = (message: HandledMessage, ctx: HandlerContext) => HandlerResult | Promise<HandlerResult>;

/** Handlers by event type; events without one pass through unchanged. */
export class HandlerRegistry {
  private readonly handlers = new Map<string, Handler>();
  private fallback: Handler | undefined;

  /** Registers the handler for one event type (`"*"`: every event without its own). */
  on(event: string, handler: Handler): this {
    if (event === "*") this.fallback = handler;
    else if (this.handlers.has(event)) throw new Error(`a handler for "${event}" is already registered`);
    else this.handlers.set(event, handler);
    return this;
  }

  /** The handler for an event, or undefined when the message passes through. */
  resolve(event: string): Handler | undefined {
    return this.handlers.get(event) ?? this.fallback;
  }

  get events(): string[] {
    return [...this.handlers.keys(), ...(this.fallback ? ["*"] : [])];
  }
}

/** A handlers module (HERALD_HANDLERS) exports `register(registry)` as default or named. */
export interface HandlersModule {
  register?: (registry: HandlerRegistry) => void | Promise<void>;
  default?: (registry: HandlerRegistry) => void | Promise<void>;
}
