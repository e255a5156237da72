import type { CoalescingEnqueuer } from "@herald/jobs";
import type { Logger } from "@herald/observability";
import { type Message, parseMessages } from "@herald/protocol";
import type { EdgeMetrics } from "../edge-metrics.js";
import type { Guard } from "../guard.js";
import type { HttpRequest, HttpResponse } from "../native-uws.js";
import type { ApiKeys } from "./api-keys.js";
import { readBody } from "./read-body.js";
import { Reply, STATUS } from "./respond.js";

export interface MessageRouteDeps {
  /** Requests that arrive while an enqueue is in flight are enqueued together. */
  enqueuer: Pick<CoalescingEnqueuer, "enqueue">;
  apiKeys: ApiKeys;
  maxBodyBytes: number;
  /** Past this, a Redis that does not answer gets 503 rather than a hung request. */
  enqueueTimeoutMs: number;
  metrics: EdgeMetrics;
  log: Logger;
  /** Counts a failure after the route returned (the guard catches the synchronous ones). */
  guard: Pick<Guard, "failed">;
}

/** An answer of the route: status, JSON body, headers, and whether to close the connection. */
interface Answer {
  status: string;
  body: unknown;
  headers?: Record<string, string>;
  close?: boolean;
}

const ROUTE = "messages";
const RETRY_SOON = { "retry-after": "1" };

/** `POST /v1/messages`: validate all, then enqueue all or nothing. */
export function messageRoute(deps: MessageRouteDeps) {
  const answer = (reply: Reply, a: Answer) => {
    deps.metrics.httpRequests.inc({ route: ROUTE, status: a.status.slice(0, 3) });
    reply.json(a.status, a.body, a.headers, a.close);
  };

  return (res: HttpResponse, req: HttpRequest): void => {
    const reply = new Reply(res);
    if (!deps.apiKeys.allows(req.getHeader("authorization"))) {
      const body = { error: "unauthorized", message: "missing or unknown producer key" };
      answer(reply, { status: STATUS.unauthorized, body, close: true });
      return;
    }
    const declared = Number(req.getHeader("content-length") || 0);
    readBody(res, reply, deps.maxBodyBytes, declared)
      .then((body) => (reply.open ? answerBody(deps, body) : undefined))
      .then((a) => a && answer(reply, a))
      .catch((err: unknown) => {
        deps.guard.failed("messages", err);
        reply.fail(err);
      });
  };
}

/** The answer to a request's body (undefined: larger than allowed). */
async function answerBody(deps: MessageRouteDeps, body: Buffer | undefined): Promise<Answer> {
  if (!body) {
    const message = `body larger than ${deps.maxBodyBytes} bytes`;
    return { status: STATUS.tooLarge, body: { error: "too_large", message }, close: true };
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return { status: STATUS.badRequest, body: { error: "invalid_json", message: "the body is not valid JSON" } };
  }
  const parsed = parseMessages(json);
  if (!parsed.ok) return { status: STATUS.badRequest, body: { error: "invalid_messages", details: parsed.problems } };
  return enqueue(deps, parsed.messages);
}

async function enqueue(deps: MessageRouteDeps, messages: Message[]): Promise<Answer> {
  try {
    const result = await withTimeout(deps.enqueuer.enqueue(messages, deps.enqueueTimeoutMs), deps.enqueueTimeoutMs);
    if (!result.ok) {
      const message = `the ${result.priority} queue is full (${result.pending} pending)`;
      const body = { error: "queue_full", priority: result.priority, message };
      return { status: STATUS.tooMany, body, headers: RETRY_SOON };
    }
    for (const m of messages) deps.metrics.accepted.inc({ priority: m.priority });
    return { status: STATUS.accepted, body: { accepted: result.ids.length, ids: result.ids } };
  } catch (err) {
    deps.log.warn({ err }, "enqueue failed");
    const body = { error: "unavailable", message: "the queue store is unreachable; retry" };
    return { status: STATUS.unavailable, body, headers: RETRY_SOON };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
