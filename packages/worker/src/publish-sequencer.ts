export interface Ticket {
  /**
   * Calls `issue` once every earlier ticket has issued (or skipped), and passes the turn
   * on as soon as `issue` returns: commands written to one Redis connection keep their
   * order, so publishes leave in ticket order while their replies overlap. Use once.
   */
  run<T>(issue: () => Promise<T>): Promise<T>;
  /** Gives the turn up without publishing (the job failed before its publish). */
  skip(): void;
}

/**
 * Keeps publishes in the order jobs were taken, while their handlers run concurrently:
 * each job takes a ticket when it is fetched and issues its publish only after the job
 * before it has issued its own.
 * With one worker process per queue, a channel's messages reach the edges in id order.
 */
export class PublishSequencer {
  private tail: Promise<void> = Promise.resolve();

  ticket(): Ticket {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => {
      release = r;
    });
    let used = false;
    const claim = () => {
      if (used) throw new Error("a sequencer ticket is used once");
      used = true;
    };
    return {
      async run<T>(issue: () => Promise<T>): Promise<T> {
        claim();
        let pending: Promise<T>;
        try {
          await previous;
          pending = issue();
        } finally {
          release();
        }
        return pending;
      },
      skip() {
        if (used) return;
        claim();
        previous.then(release);
      },
    };
  }
}
