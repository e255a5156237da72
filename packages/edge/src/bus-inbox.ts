export interface InboxOptions {
  /** Longest the next slice of work may hold the event loop (ms) before yielding to I/O; asked per slice. */
  sliceMs: () => number;
  /** Stop reading the socket past this many queued bytes (characters)... */
  highWaterBytes: number;
  /** ...and read again once the queue is down to this. */
  lowWaterBytes: number;
}

export interface InboxHooks {
  /** Handles one payload. */
  process(payload: string): void;
  /** After each slice: the payloads handled in it are done (the moment to flush corked writes). */
  sliceEnd(): void;
  /** Stop / resume reading the source (the subscriber's socket). */
  pause(): void;
  resume(): void;
}

/**
 * Bulk payloads, handled in slices of a few milliseconds (the caller says how long) so other
 * sockets are read in between. Why: Node reads up to about 2 MB from a socket in one go and
 * the Redis client emits every pub/sub message in it at once, so a bulk backlog handled
 * inline holds the event loop long enough that an urgent delivery that arrived meanwhile on
 * its own connection waits for all of it (docs/decisions/lanes.md).
 *
 * Bounded: past the high-water mark the source is paused, so the backlog stays in Redis,
 * where workers see it and hold back (see the worker's EdgeBackpressure), rather than
 * in this process's memory.
 */
export class Inbox {
  private readonly queue: string[] = [];
  private head = 0;
  private bytes = 0;
  private scheduled = false;
  private paused = false;

  constructor(
    private readonly options: InboxOptions,
    private readonly hooks: InboxHooks,
  ) {}

  /** Characters queued and not yet handled. */
  get queuedBytes(): number {
    return this.bytes;
  }

  push(payload: string): void {
    this.queue.push(payload);
    this.bytes += payload.length;
    if (this.bytes > this.options.highWaterBytes) {
      // Every time, not only the first: after a reconnect the source is a new socket.
      this.paused = true;
      this.hooks.pause();
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.slice);
    }
  }

  private readonly slice = (): void => {
    const deadline = performance.now() + this.options.sliceMs();
    try {
      while (this.head < this.queue.length) {
        const payload = this.queue[this.head] as string;
        this.queue[this.head++] = ""; // let it go now, not when the queue is compacted
        this.bytes -= payload.length;
        this.hooks.process(payload);
        if (performance.now() >= deadline) break;
      }
    } finally {
      this.hooks.sliceEnd();
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      } else if (this.head > 1024) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (this.paused && this.bytes <= this.options.lowWaterBytes) {
        this.paused = false;
        this.hooks.resume();
      }
      this.scheduled = this.head < this.queue.length;
      if (this.scheduled) setImmediate(this.slice);
    }
  };
}
