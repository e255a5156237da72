export { type DeadLetter, DeadLetters } from "./dead-letters.js";
export {
  DEFAULT_MESSAGES_PER_JOB,
  type EnqueueResult,
  Enqueuer,
  type EnqueuerOptions,
  IDEMPOTENCY_TTL_SECONDS,
  MESSAGE_JOB_OPTIONS,
  toEnvelope,
} from "./enqueuer.js";
export { type Reservation, reserveIds } from "./ids.js";
export { readPending } from "./pending.js";
export {
  DEAD_LETTER_QUEUE,
  type DeadLetterData,
  type ForeignJobData,
  type HandlerOutcomes,
  isHeraldJob,
  MESSAGE_JOB,
  type MessageJobData,
  QUEUE_NAMES,
} from "./queues.js";
