import { HeraldError, type Message } from "@herald/protocol";
import type { EnqueueResult, Enqueuer } from "./enqueuer.js";

interface Call {
  messages: readonly Message[];
  /** When the call gives up if it has not been sent yet (ms, `Date.now()` clock). */
  deadline: number;
  resolve: (result: EnqueueResult) => void;
  reject: (err: unknown) => void;
}

/** Most messages one combined enqueue carries: ten full jobs. */
export const MAX_COALESCED_MESSAGES = 1000;

/**
 * Enqueues the calls that arrive while an enqueue is in flight as one: one id reservation
 * and one `addBulk` for all of them, packed into full jobs. A lone call goes at once, so
 * nothing waits at low load; under load the combined calls grow, and the cost per job
 * (BullMQ's add, fetch and finish, the worker's round trips) is shared by more messages.
 * Many small HTTP requests otherwise each make a job of their own.
 *
 * Each call keeps its own answer: all of its messages accepted, in its order, or none.
 * When a queue is too full for a combined call, each of its calls is tried alone (those
 * that fit are taken). A call still waiting at its deadline is refused unsent, never sent
 * after its caller was told it failed.
 */
export class CoalescingEnqueuer {
  private waiting: Call[] = [];
  private sending = false;

  constructor(
    private readonly enqueuer: Pick<Enqueuer, "enqueue">,
    private readonly now: () => number = Date.now,
    private readonly maxMessages = MAX_COALESCED_MESSAGES,
  ) {}

  /** Enqueues one call's messages, all or nothing; `timeoutMs` bounds its wait to be sent. */
  enqueue(messages: readonly Message[], timeoutMs: number): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ messages, deadline: this.now() + timeoutMs, resolve, reject });
      if (!this.sending) void this.sendAll();
    });
  }

  /** Calls waiting to be sent (for tests and the drain). */
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

  /** The next calls to send together: at least one, then as many as fit in `maxMessages`; expired ones refused. */
  private take(): Call[] {
    const now = this.now();
    const calls: Call[] = [];
    let size = 0;
    while (this.waiting.length > 0) {
      const next = this.waiting[0] as Call;
      if (next.deadline < now) {
        this.waiting.shift();
        next.reject(new HeraldError("unavailable", "the queue store did not take the messages in time"));
        continue;
      }
      if (calls.length > 0 && size + next.messages.length > this.maxMessages) break;
      this.waiting.shift();
      calls.push(next);
      size += next.messages.length;
    }
    return calls;
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
    try {
      call.resolve(await this.enqueuer.enqueue(call.messages));
    } catch (err) {
      call.reject(err);
    }
  }
}
