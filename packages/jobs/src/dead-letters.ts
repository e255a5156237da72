import type { Envelope } from "@herald/protocol";
import type { Keys } from "@herald/redis";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Enqueuer } from "./enqueuer.js";
import { reportedByCommands } from "./queue-errors.js";
import { DEAD_LETTER_QUEUE, type DeadLetterData } from "./queues.js";

export interface DeadLetter extends DeadLetterData {
  /** The dead-letter entry's own id (the BullMQ job id), for `retry`. */
  entryId: string;
}

/**
 * Messages whose handlers failed on every attempt, kept in a BullMQ queue that no
 * worker consumes, so any BullMQ dashboard shows them too. Bounded: past `capacity`
 * the oldest entries are dropped (and counted by the caller's metrics).
 */
export class DeadLetters {
  private created: Queue<DeadLetterData> | undefined;
  private addsSinceTrim = 0;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly capacity: number,
  ) {}

  /** Created on first use, for the reason given in Enqueuer.queue. */
  private get queue(): Queue<DeadLetterData> {
    if (!this.created) {
      this.created = new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, {
        connection: this.redis,
        prefix: this.keys.queuePrefix(DEAD_LETTER_QUEUE),
      });
      this.created.on("error", reportedByCommands);
    }
    return this.created;
  }

  /** Adds entries; returns how many old entries were trimmed to stay within capacity. */
  async add(entries: readonly DeadLetterData[]): Promise<number> {
    if (entries.length === 0) return 0;
    await this.queue.addBulk(
      entries.map((data) => ({ name: "dead", data, opts: { removeOnComplete: true, removeOnFail: true } })),
    );
    this.addsSinceTrim += entries.length;
    if (this.addsSinceTrim < 100 && entries.length < 100) return 0;
    this.addsSinceTrim = 0;
    return this.trim();
  }

  async trim(): Promise<number> {
    const count = await this.queue.getWaitingCount();
    const excess = count - this.capacity;
    if (excess <= 0) return 0;
    const oldest = await this.queue.getWaiting(0, excess - 1);
    await Promise.all(oldest.map((j) => j.remove()));
    return oldest.length;
  }

  async count(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  /** Oldest first. */
  async list(start = 0, end = 99): Promise<DeadLetter[]> {
    const jobs = await this.queue.getWaiting(start, end);
    return jobs
      .filter((j) => j.id !== undefined)
      .map((j) => ({ ...j.data, entryId: j.id as string }))
      .reverse();
  }

  /**
   * Re-drives entries (all when `entryIds` is undefined) into their priority queues
   * with a fresh attempt count. Returns how many were re-driven.
   */
  async retry(enqueuer: Enqueuer, entryIds?: readonly string[]): Promise<number> {
    const jobs = entryIds
      ? (await Promise.all(entryIds.map((id) => this.queue.getJob(id)))).filter((j) => j !== undefined)
      : await this.queue.getWaiting(0, -1);
    let n = 0;
    for (const job of jobs) {
      // Taken out first, so a retry after a failure below cannot deliver it twice; put back if the re-drive fails.
      await job.remove();
      const message: Envelope = { ...job.data.message, attempt: 0 };
      try {
        await enqueuer.redrive(message);
      } catch (err) {
        await this.add([job.data]);
        throw err;
      }
      n++;
    }
    return n;
  }

  /** Idempotent: every call awaits the same close. */
  close(): Promise<void> {
    this.closed ??= this.created?.close() ?? Promise.resolve();
    return this.closed;
  }
}
