import type { Logger } from "@herald/observability";
import type { EdgeMetrics } from "./edge-metrics.js";
import { BadRequest, Reply } from "./http/respond.js";
import type { HttpRequest, HttpResponse } from "./native-uws.js";

/** Where a failure was caught: the label of `herald_handler_errors_total`, a small fixed set. */
export type HandlerName =
  | "messages"
  | "presence"
  | "dashboard"
  | "pages"
  | "ops"
  | "not_found"
  | "upgrade"
  | "open"
  | "message"
  | "close";

/**
 * uWebSockets.js does not survive an exception thrown from one of its callbacks: the process
 * exits, and every connection of the node drops with it. Every callback Herald hands uWS goes
 * through a guard that catches what it throws, counts it, logs it and answers it: a malformed
 * request (`BadRequest`) with 400, anything else with 500 for HTTP, or a 1011 close for a
 * socket. Work a callback starts asynchronously reports its failures through `failed`.
 */
export class Guard {
  constructor(
    private readonly metrics: EdgeMetrics,
    private readonly log: Logger,
  ) {}

  /** An HTTP route (or WebSocket upgrade) whose throws are answered (400 or 500) instead of killing the node. */
  route<A extends unknown[]>(name: HandlerName, route: (res: HttpResponse, req: HttpRequest, ...rest: A) => void) {
    return (res: HttpResponse, req: HttpRequest, ...rest: A): void => {
      try {
        route(res, req, ...rest);
      } catch (err) {
        this.failed(name, err);
        answerFailure(res, err);
      }
    };
  }

  /** A socket callback whose throws are counted and logged, then handed to `recover` if given (e.g. a 1011 close). */
  socket<A extends unknown[]>(name: HandlerName, callback: (...args: A) => void, recover?: (...args: A) => void) {
    return (...args: A): void => {
      try {
        callback(...args);
      } catch (err) {
        this.failed(name, err);
        this.recover(name, recover, args);
      }
    };
  }

  private recover<A extends unknown[]>(name: HandlerName, recover: ((...args: A) => void) | undefined, args: A) {
    try {
      recover?.(...args);
    } catch (err) {
      this.failed(name, err);
    }
  }

  /** Counts and logs a failure caught in (or after) a handler. A malformed request is not logged: it is the client's. */
  failed(name: HandlerName, err: unknown): void {
    this.metrics.handlerErrors.inc({ handler: name, kind: err instanceof BadRequest ? "bad_request" : "internal" });
    if (!(err instanceof BadRequest)) this.log.error({ err, handler: name }, "handler failed");
  }
}

/** Answers a request whose handler threw, unless it was already answered or aborted. */
function answerFailure(res: HttpResponse, err: unknown): void {
  try {
    new Reply(res).fail(err);
  } catch {
    // uWS throws when the response was already answered or aborted: then there is no one to tell
  }
}
