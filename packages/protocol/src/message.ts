import { z } from "zod";
import { isValidUserId, MAX_ID_LENGTH, topicProblem } from "./channels.js";
import { parseId } from "./ids.js";
import { DEFAULT_PRIORITY, isPriority, PRIORITIES, type Priority } from "./priorities.js";

/** Most messages one HTTP request or one `users` target may carry. */
export const MAX_MESSAGES_PER_REQUEST = 1000;
export const MAX_USERS_PER_MESSAGE = 1000;
export const MAX_TTL_SECONDS = 7 * 24 * 3600;
/** Deepest nesting of objects and arrays a message's `data` may have. */
export const MAX_DATA_DEPTH = 64;
/** Largest `data` of one message, as JSON. */
export const MAX_DATA_BYTES = 1 << 20;
/**
 * Most bytes one message may make when fanned out to its users (`data` size × users): the
 * worker encodes a frame per user and Redis carries each, so one large message to a thousand
 * users would be a gigabyte. A topic carries it once.
 */
export const MAX_FANOUT_BYTES = 16 << 20;

const userId = z.string().refine(isValidUserId, {
  message: `must be 1 to ${MAX_ID_LENGTH} characters without control characters`,
});

const topic = z.string().superRefine((name, ctx) => {
  const problem = topicProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** Where a message goes: exactly one of these shapes. */
export const targetSchema = z.union([
  z.strictObject({ user: userId }),
  z.strictObject({ users: z.array(userId).min(1).max(MAX_USERS_PER_MESSAGE) }),
  z.strictObject({ channel: topic }),
  z.strictObject({ broadcast: z.literal(true) }),
]);
export type Target = z.infer<typeof targetSchema>;

/** A message as producers send it, over HTTP or through the SDK. */
export const messageSchema = z
  .strictObject({
    to: targetSchema,
    event: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9_.:\-/]+$/, "may contain only letters, digits and _ . : - /"),
    data: z
      .unknown()
      .optional()
      .superRefine((data, ctx) => {
        const problem = dataProblem(data);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    priority: z.enum(PRIORITIES).default(DEFAULT_PRIORITY),
    id: z.string().min(1).max(MAX_ID_LENGTH).optional(),
    ttl: z.number().int().min(1).max(MAX_TTL_SECONDS).optional(),
  })
  .superRefine((m, ctx) => {
    const bytes = dataBytes(m.data);
    if (!Number.isFinite(bytes)) return; // JSON cannot encode it: reported on `data` already
    if (bytes > MAX_DATA_BYTES) {
      ctx.addIssue({ code: "custom", path: ["data"], message: `is ${bytes} bytes as JSON; at most ${MAX_DATA_BYTES}` });
    } else if ("users" in m.to && bytes * m.to.users.length > MAX_FANOUT_BYTES) {
      const message = `${m.to.users.length} users × ${bytes} bytes of data passes ${MAX_FANOUT_BYTES} bytes; send to a topic instead`;
      ctx.addIssue({ code: "custom", path: ["to", "users"], message });
    }
  });
export type MessageInput = z.input<typeof messageSchema>;
export type Message = z.output<typeof messageSchema>;

/** A message once accepted: it has an ordered id and the time it was accepted. */
export interface Envelope {
  /** Herald's ordered id (see ids.ts). */
  id: string;
  to: Target;
  event: string;
  data: unknown;
  priority: Priority;
  /** Accepted at, ms since the epoch. */
  ts: number;
  /** Seconds after `ts` when the message is no longer worth delivering. */
  ttl?: number;
  /** The producer's idempotency key, if it gave one. */
  key?: string;
  /** Handler attempts already made (0 on first delivery). */
  attempt?: number;
}

export interface FieldProblem {
  index: number;
  field: string;
  message: string;
}

export type ParseResult = { ok: true; messages: Message[] } | { ok: false; problems: FieldProblem[] };

const TARGET_SHAPES = '{"user"}, {"users"}, {"channel"} or {"broadcast":true}';

const TARGET_KEYS = ["user", "users", "channel", "broadcast"];

function problemsOf(index: number, input: unknown, error: z.ZodError): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    if (issue.code === "invalid_union" && path.length === 1 && path[0] === "to") {
      out.push(targetProblem(index, input, issue.errors));
    } else if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ index, field: [...path, key].join("."), message: "unknown field" });
    } else {
      out.push({ index, field: path.join(".") || "(message)", message: issue.message });
    }
  }
  return out;
}

/**
 * A union failure says little. When `to` names exactly one known shape, report that
 * shape's own problem; otherwise say which shapes `to` may take.
 */
function targetProblem(index: number, input: unknown, shapeErrors: z.core.$ZodIssue[][]): FieldProblem {
  const to = (input as { to?: unknown }).to;
  const keys = typeof to === "object" && to !== null ? Object.keys(to) : [];
  const shape = keys.length === 1 ? TARGET_KEYS.indexOf(keys[0] as string) : -1;
  const detail = shape >= 0 ? shapeErrors[shape]?.[0] : undefined;
  if (detail) return { index, field: ["to", ...detail.path.map(String)].join("."), message: detail.message };
  return { index, field: "to", message: `must be one of ${TARGET_SHAPES}` };
}

/**
 * Validates a producer payload: one message, or `{messages:[…]}`. All or nothing:
 * any bad message fails the whole payload, with every problem listed by index and field.
 */
export function parseMessages(body: unknown): ParseResult {
  const isBatch = typeof body === "object" && body !== null && !Array.isArray(body) && "messages" in body;
  const items: unknown = isBatch ? (body as { messages: unknown }).messages : [body];
  if (!Array.isArray(items)) {
    return { ok: false, problems: [{ index: 0, field: "messages", message: "must be an array" }] };
  }
  if (items.length === 0 || items.length > MAX_MESSAGES_PER_REQUEST) {
    return {
      ok: false,
      problems: [{ index: 0, field: "messages", message: `must hold 1 to ${MAX_MESSAGES_PER_REQUEST} messages` }],
    };
  }
  const messages: Message[] = [];
  const problems: FieldProblem[] = [];
  for (let i = 0; i < items.length; i++) {
    const r = messageSchema.safeParse(items[i]);
    if (r.success) messages.push(r.data);
    else problems.push(...problemsOf(i, items[i], r.error));
  }
  return problems.length ? { ok: false, problems } : { ok: true, messages };
}

const EVENT_PATTERN = /^[A-Za-z0-9_.:\-/]{1,128}$/;

/**
 * Why a value read from a queue is not an accepted message (an `Envelope`), or undefined
 * when it is one. Jobs in Herald's own form are written by Herald's producers, but anyone who
 * can add a job can write one: nothing in it is trusted before this check.
 */
export function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not an object";
  const e = value as Record<string, unknown>;
  return requiredProblem(e) ?? optionalProblem(e);
}

/**
 * Whether `to` is a valid target: what `targetSchema` accepts, checked by hand because a worker
 * checks every message of every job in Herald's form (a schema library's parse costs more than
 * the rest of the check; the ids and topics matter: a tab or newline in one would break the
 * worker-to-edge framing).
 */
function isTarget(to: unknown): boolean {
  if (typeof to !== "object" || to === null || Array.isArray(to)) return false;
  const keys = Object.keys(to);
  if (keys.length !== 1) return false;
  const t = to as Record<string, unknown>;
  switch (keys[0]) {
    case "user":
      return typeof t.user === "string" && isValidUserId(t.user);
    case "users":
      return (
        Array.isArray(t.users) &&
        t.users.length >= 1 &&
        t.users.length <= MAX_USERS_PER_MESSAGE &&
        t.users.every((u) => typeof u === "string" && isValidUserId(u))
      );
    case "channel":
      return typeof t.channel === "string" && topicProblem(t.channel) === undefined;
    case "broadcast":
      return t.broadcast === true;
    default:
      return false;
  }
}

function requiredProblem(e: Record<string, unknown>): string | undefined {
  if (typeof e.id !== "string" || parseId(e.id) === undefined) return "id: not a Herald message id";
  if (!isTarget(e.to)) return `to: must be one of ${TARGET_SHAPES}`;
  if (typeof e.event !== "string" || !EVENT_PATTERN.test(e.event)) return "event: invalid";
  if (!isPriority(e.priority)) return "priority: invalid";
  if (typeof e.ts !== "number" || !Number.isFinite(e.ts)) return "ts: not a time";
  return undefined;
}

function optionalProblem(e: Record<string, unknown>): string | undefined {
  if (e.ttl !== undefined && !(typeof e.ttl === "number" && e.ttl > 0)) return "ttl: not a positive number";
  const attempt = e.attempt;
  if (attempt !== undefined && !(typeof attempt === "number" && Number.isInteger(attempt) && attempt >= 0)) {
    return "attempt: invalid";
  }
  if (e.key !== undefined && typeof e.key !== "string") return "key: not a string";
  return undefined;
}

/**
 * Why JSON cannot carry `data` as it is, or undefined. Walked without recursion, so data
 * nested deep enough to overflow a recursive encoder is refused here (a 400), rather than
 * failing later where it looks like an outage (a 503 told to retry what can never succeed).
 * A circular structure is refused as nested too deep.
 */
export function dataProblem(data: unknown): string | undefined {
  const stack: [unknown, number][] = [[data, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (typeof value === "bigint") return "holds a BigInt, which JSON cannot encode";
    if (typeof value !== "object" || value === null) continue;
    if (depth > MAX_DATA_DEPTH) return `nests deeper than ${MAX_DATA_DEPTH} levels (or refers to itself)`;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return undefined;
}

/** The size of `data` as JSON (characters); Infinity when JSON cannot encode it. */
function dataBytes(data: unknown): number {
  if (data === undefined || data === null) return 4;
  try {
    return JSON.stringify(data)?.length ?? 4;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
