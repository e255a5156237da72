import type { FieldProblem } from "./message.js";

/** Internal error codes: one registry, each documented (a test keeps it so). */
export const HERALD_ERRORS = {
  invalid_messages: "one or more messages failed validation; nothing was enqueued",
  queue_full: "a priority queue is at its capacity; retry later",
  unavailable: "Redis is unreachable or did not answer in time",
  closed: "the component was closed",
  invalid_config: "a configuration variable has a bad value",
} as const;
export type HeraldErrorCode = keyof typeof HERALD_ERRORS;

export class HeraldError extends Error {
  constructor(
    readonly code: HeraldErrorCode,
    message: string = HERALD_ERRORS[code],
    readonly details?: { problems?: FieldProblem[]; priority?: string },
  ) {
    super(message);
    this.name = "HeraldError";
  }
}
