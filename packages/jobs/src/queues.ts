import type { Envelope, Priority } from "@herald/protocol";

/**
 * One BullMQ queue per priority. Separate queues (rather than BullMQ job priorities
 * in one queue) give each priority its own worker loop, so a critical message never
 * waits behind a low backlog, and adding stays O(1) instead of a sorted-set insert.
 * The queue's BullMQ prefix is the hash-tagged Herald prefix, `{herald}` by default.
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
  message: Envelope;
  /** Why the last attempt failed. */
  error: string;
  attempts: number;
  failedAt: number;
}

export function isHeraldJob(data: unknown): data is MessageJobData {
  return typeof data === "object" && data !== null && (data as { v?: unknown }).v === 1;
}
