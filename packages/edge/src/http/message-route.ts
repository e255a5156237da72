import type { Enqueuer } from "@herald/jobs";
import type { Logger } from "@herald/observability";
import { parseMessages } from "@herald/protocol";
import type { EdgeMetrics } from "../edge-metrics.js";
import type { HttpRequest, HttpResponse } from "../native-uws.js";
import type { ApiKeys } from "./api-keys.js";
import { readBody } from "./read-body.js";
import { Reply, STATUS } from "./respond.js";

export interface MessageRouteDeps {
  enqueuer: Enqueuer;
  apiKeys: ApiKeys;
  maxBodyBytes: number;
  /** Past this, a Redis that does not answer gets 503 rather than a hung request. */
  enqueueTimeoutMs: number;
  metrics: EdgeMetrics;
  log: Logger;
}

const ROUTE = "messages";

/** `POST /v1/messages`: validate all, then enqueue all or nothing. */
export function messageRoute(deps: MessageRouteDeps) {
  const { metrics } = deps;
  const answer = (reply: Reply, status: string, body: unknown, headers?: Record<string, string>, close = false) => {
    metrics.httpRequests.inc({ route: ROUTE, status: status.slice(0, 3) });
    reply.json(status, body, headers, close);
  };

  return (res: HttpResponse, req: HttpRequest): void => {
    const reply = new Reply(res);
    const authorized = deps.apiKeys.allows(req.getHeader("authorization"));
    const declared = Number(req.getHeader("content-length") || 0);
    if (!authorized) {
      answer(
        reply,
        STATUS.unauthorized,
        { error: "unauthorized", message: "missing or unknown producer key" },
        {},
        true,
      );
      return;
    }
    readBody(res, reply, deps.maxBodyBytes, declared).then(async (body) => {
      if (!reply.open) return;
      if (!body) {
        const message = `body larger than ${deps.maxBodyBytes} bytes`;
        answer(reply, STATUS.tooLarge, { error: "too_large", message }, {}, true);
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch {
        answer(reply, STATUS.badRequest, { error: "invalid_json", message: "the body is not valid JSON" });
        return;
      }
      const parsed = parseMessages(json);
      if (!parsed.ok) {
        answer(reply, STATUS.badRequest, { error: "invalid_messages", details: parsed.problems });
        return;
      }
      try {
        const result = await withTimeout(deps.enqueuer.enqueue(parsed.messages), deps.enqueueTimeoutMs);
        if (!result.ok) {
          const message = `the ${result.priority} queue is full (${result.pending} pending)`;
          answer(
            reply,
            STATUS.tooMany,
            { error: "queue_full", priority: result.priority, message },
            { "retry-after": "1" },
          );
          return;
        }
        for (const m of parsed.messages) metrics.accepted.inc({ priority: m.priority });
        answer(reply, STATUS.accepted, { accepted: result.ids.length, ids: result.ids });
      } catch (err) {
        deps.log.warn({ err }, "enqueue failed");
        answer(
          reply,
          STATUS.unavailable,
          { error: "unavailable", message: "the queue store is unreachable; retry" },
          {
            "retry-after": "1",
          },
        );
      }
    });
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
