import { type Envelope, envelopeProblem, type Priority } from "@herald/protocol";

/**
 * One BullMQ queue per priority. Separate queues (rather than BullMQ job priorities
 * in one queue) give each priority its own worker loop, so a critical message never
 * waits behind a low backlog, and adding stays O(1) instead of a sorted-set insert.
 * The queue's BullMQ prefix is `Keys.queuePrefix`: the hash-tagged Herald prefix, `{herald}` by
 * default; in the cluster layout a tag of its own per queue, so the queues spread over masters.
 */
export const QUEUE_NAMES: Readonly<Record<Priority, string>> = {
  critical: "critical",
  high: "high",
  normal: "normal",
  low: "low",
};

/** Messages whose handlers failed on every attempt, for an operator to list and re-drive. */
export const DEAD_LETTER_QUEUE = "dead-letter";

/** The BullMQ job name of a packed message job. */
export const MESSAGE_JOB = "messages";

/**
 * A packed job as Herald's own producers write it: several accepted messages,
 * in acceptance order, all of one priority.
 */
export interface MessageJobData {
  v: 1;
  messages: Envelope[];
  /** How many of these messages count against the queue's pending capacity. */
  counted: number;
  /**
   * Set by a worker once the handlers ran and their failures were re-enqueued or
   * dead-lettered, before the publish: `messages` are then the handlers' output, and a
   * retry (the publish failed) publishes them without running the handlers again. The
   * handlers' outcomes ride along, to be counted when published.
   */
  handled?: HandlerOutcomes;
}

/** How a job's messages fared in their handlers. */
export interface HandlerOutcomes {
  delivered: number;
  dropped: number;
  expired: number;
}

/**
 * A job from a producer that does not run Herald's code (another language's BullMQ
 * client): raw messages in the producer schema, validated and given ids by the worker.
 */
export interface ForeignJobData {
  messages: unknown[];
}

export interface DeadLetterData {
  /** The message as it was (an Envelope, unless the job held a malformed one). */
  message: Envelope;
  /** Why the last attempt failed. */
  error: string;
  attempts: number;
  failedAt: number;
}

/** Whether a job claims Herald's own form (`{"v":1,…}`); `checkHeraldJob` says what of it holds. */
export function isHeraldJob(data: unknown): data is { v: 1 } {
  return typeof data === "object" && data !== null && (data as { v?: unknown }).v === 1;
}

/** A job in Herald's form, checked: its well-formed messages, the rest with why, and sane counts. */
export interface CheckedJob {
  messages: Envelope[];
  malformed: { message: unknown; error: string }[];
  /** `counted`, as a whole number from 0 to the number of messages. */
  counted: number;
  handled: HandlerOutcomes | undefined;
}

/**
 * Checks a job that claims Herald's form before anything of it is used: every message is
 * checked on its own (a malformed one is set aside with its problem, the rest go on), and
 * `counted` is held to what the job can release, so a forged job cannot drive the pending
 * count below zero by more than its own size.
 */
export function checkHeraldJob(data: { v: 1 }): CheckedJob {
  const job = data as Partial<Record<keyof MessageJobData, unknown>>;
  const raw = Array.isArray(job.messages) ? job.messages : [];
  const messages: Envelope[] = [];
  const malformed: CheckedJob["malformed"] = [];
  if (!Array.isArray(job.messages)) malformed.push({ message: job.messages, error: "messages: not an array" });
  for (const m of raw) {
    const problem = envelopeProblem(m);
    if (problem) malformed.push({ message: m, error: `malformed message: ${problem}` });
    else messages.push(m as Envelope);
  }
  const c = Number(job.counted);
  const counted = Number.isInteger(c) ? Math.min(Math.max(c, 0), raw.length) : 0;
  return { messages, malformed, counted, handled: outcomesOf(job.handled) };
}

function outcomesOf(value: unknown): HandlerOutcomes | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const o = value as Record<string, unknown>;
  const ok = [o.delivered, o.dropped, o.expired].every((n) => Number.isInteger(n) && (n as number) >= 0);
  return ok ? (o as unknown as HandlerOutcomes) : undefined;
}
