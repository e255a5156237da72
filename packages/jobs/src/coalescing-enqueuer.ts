import { HeraldError, type Message, type Priority } from "@herald/protocol";
import type { EnqueueResult, Enqueuer } from "./enqueuer.js";

interface Call {
  messages: readonly Message[];
  /** The priority of all its messages; undefined when they have several (such a call goes alone). */
  priority: Priority | undefined;
  /** When the call gives up if it has not been sent yet (ms, `Date.now()` clock). */
  deadline: number;
  resolve: (result: EnqueueResult) => void;
  reject: (err: unknown) => void;
}

/** Most messages one combined enqueue carries: ten full jobs. */
export const MAX_COALESCED_MESSAGES = 1000;
/** Most messages waiting to be sent, past which a call is refused at once (503): ten combined enqueues. */
const MAX_WAITING_MESSAGES = 10 * MAX_COALESCED_MESSAGES;
/**
 * A call is not sent with less than this left before its deadline: its caller's timer, set
 * to the same deadline, must not answer "retry" while the enqueue goes through after all.
 */
const SEND_MARGIN_MS = 500;

/**
 * Enqueues the calls that arrive while an enqueue is in flight as one: one id reservation
 * and one `addBulk` for all of them, packed into full jobs. A lone call goes at once, so
 * nothing waits at low load; under load the combined calls grow, and the cost per job
 * (BullMQ's add, fetch and finish, the worker's round trips) is shared by more messages.
 * Many small HTTP requests otherwise each make a job of their own.
 *
 * Each call keeps its own answer: all of its messages accepted, in its order, or none. Only
 * calls of one and the same priority are combined (a call mixing priorities goes alone): one
 * priority's enqueue is one reservation and one atomic add, so a combined call is accepted or
 * refused whole, and idempotency keys are claimed in arrival order, as separate calls would.
 * When the queue is too full for a combined call, each of its calls is tried alone (those
 * that fit are taken). A call that could not be sent well before its deadline is refused
 * unsent, never sent after its caller was told it failed; and past MAX_WAITING_MESSAGES
 * waiting, a call is refused at once.
 */
export class CoalescingEnqueuer {
  private waiting: Call[] = [];
  private waitingMessages = 0;
  private sending = false;

  constructor(
    private readonly enqueuer: Pick<Enqueuer, "enqueue">,
    private readonly now: () => number = Date.now,
    private readonly maxMessages = MAX_COALESCED_MESSAGES,
  ) {}

  /** Enqueues one call's messages, all or nothing; `timeoutMs` bounds its wait to be sent. */
  enqueue(messages: readonly Message[], timeoutMs: number): Promise<EnqueueResult> {
    if (this.waitingMessages + messages.length > MAX_WAITING_MESSAGES && this.waiting.length > 0)
      return Promise.reject(new HeraldError("unavailable", "too many messages waiting to be enqueued"));
    return new Promise((resolve, reject) => {
      const first = messages[0]?.priority;
      const priority = messages.every((m) => m.priority === first) ? first : undefined;
      this.waiting.push({ messages, priority, deadline: this.now() + timeoutMs, resolve, reject });
      this.waitingMessages += messages.length;
      if (!this.sending) void this.sendAll();
    });
  }

  /** Calls waiting to be sent (for tests). */
  get backlog(): number {
    return this.waiting.length;
  }

  private async sendAll(): Promise<void> {
    this.sending = true;
    try {
      for (let calls = this.take(); calls.length > 0; calls = this.take()) await this.send(calls);
    } finally {
      this.sending = false;
    }
  }

  /** The next calls to send together: at least one, then those of its priority that fit in `maxMessages`; late ones refused. */
  private take(): Call[] {
    const calls: Call[] = [];
    let size = 0;
    while (this.waiting.length > 0) {
      const next = this.waiting[0] as Call;
      if (this.late(next)) {
        this.leave();
        continue;
      }
      if (calls.length > 0) {
        const joins = next.priority !== undefined && next.priority === calls[0]?.priority;
        if (!joins || size + next.messages.length > this.maxMessages) break;
      }
      this.leave();
      calls.push(next);
      size += next.messages.length;
    }
    return calls;
  }

  /** Takes the first waiting call off the list. */
  private leave(): void {
    const call = this.waiting.shift() as Call;
    this.waitingMessages -= call.messages.length;
  }

  /** Whether a call is too close to its deadline to be sent; if so, it is refused. */
  private late(call: Call): boolean {
    if (call.deadline - this.now() >= SEND_MARGIN_MS) return false;
    call.reject(new HeraldError("unavailable", "the queue store did not take the messages in time"));
    return true;
  }

  private async send(calls: Call[]): Promise<void> {
    if (calls.length === 1) return this.sendAlone(calls[0] as Call);
    let result: EnqueueResult;
    try {
      result = await this.enqueuer.enqueue(calls.flatMap((c) => c.messages));
    } catch (err) {
      for (const c of calls) c.reject(err);
      return;
    }
    if (!result.ok) {
      // Some queue is full for all of them together: each alone, in order, so those that fit are taken.
      for (const c of calls) await this.sendAlone(c);
      return;
    }
    let at = 0;
    for (const c of calls) {
      c.resolve({ ok: true, ids: result.ids.slice(at, at + c.messages.length) });
      at += c.messages.length;
    }
  }

  private async sendAlone(call: Call): Promise<void> {
    if (this.late(call)) return;
    try {
      call.resolve(await this.enqueuer.enqueue(call.messages));
    } catch (err) {
      call.reject(err);
    }
  }
}
