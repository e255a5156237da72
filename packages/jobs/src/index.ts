export { CoalescingEnqueuer, MAX_COALESCED_MESSAGES } from "./coalescing-enqueuer.js";
export { type DeadLetter, DeadLetters } from "./dead-letters.js";
export {
  DEFAULT_MESSAGES_PER_JOB,
  type EnqueueResult,
  Enqueuer,
  type EnqueuerDeps,
  type EnqueuerOptions,
  toEnvelope,
} from "./enqueuer.js";
export {
  type DriftReport,
  PendingCount,
  type Reservation,
  type Unused,
} from "./pending-count.js";
export { reportedByCommands } from "./queue-errors.js";
export {
  type CheckedJob,
  checkHeraldJob,
  DEAD_LETTER_QUEUE,
  type DeadLetterData,
  type ForeignJobData,
  type HandlerOutcomes,
  isHeraldJob,
  MESSAGE_JOB,
  type MessageJobData,
  QUEUE_NAMES,
} from "./queues.js";
