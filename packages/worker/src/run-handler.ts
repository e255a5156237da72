import { type Envelope, targetSchema } from "@herald/protocol";
import type { HandledMessage, Handler, HandlerResult } from "./handler-registry.js";

export type HandlerOutcome = { ok: true; out: Envelope[] } | { ok: false; error: string };

/**
 * Runs one message through its handler, bounded by `timeoutMs`. A synchronous handler
 * costs no timer; an async one races a timer that also aborts its signal.
 * Outputs keep the input's id, priority and acceptance time; their targets are validated.
 */
export async function runHandler(
  handler: Handler | undefined,
  message: Envelope,
  timeoutMs: number,
): Promise<HandlerOutcome> {
  if (!handler) return { ok: true, out: [message] };
  const controller = new AbortController();
  const input: HandledMessage = {
    id: message.id,
    to: message.to,
    event: message.event,
    data: message.data,
    priority: message.priority,
    ts: message.ts,
  };
  let result: HandlerResult;
  try {
    const r = handler(input, { signal: controller.signal, attempt: message.attempt ?? 0 });
    result = r instanceof Promise ? await withTimeout(r, timeoutMs, controller) : r;
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  if (result === undefined) return { ok: true, out: [message] };
  if (result === null) return { ok: true, out: [] };
  const list = Array.isArray(result) ? result : [result];
  const out: Envelope[] = [];
  for (const m of list) {
    const target = targetSchema.safeParse(m?.to);
    if (!target.success || typeof m.event !== "string") {
      return { ok: false, error: `handler for "${message.event}" returned a message without a valid to/event` };
    }
    out.push({ ...message, to: target.data, event: m.event, data: m.data ?? null });
  }
  return { ok: true, out };
}

function withTimeout<T>(p: Promise<T>, ms: number, controller: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Reject before aborting: a handler that settles on abort must not win the race.
        reject(new Error(`handler timed out after ${ms} ms`));
        controller.abort();
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
