export interface Ticket {
  /** Runs `publish` once every earlier ticket has settled. Use once. */
  run<T>(publish: () => Promise<T>): Promise<T>;
  /** Gives the turn up without publishing (the job failed before its publish). */
  skip(): void;
}

/**
 * Keeps publishes in the order jobs were taken, while their handlers run concurrently:
 * each job takes a ticket when it starts and publishes only after the job before it.
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
      async run<T>(publish: () => Promise<T>): Promise<T> {
        claim();
        try {
          await previous;
          return await publish();
        } finally {
          release();
        }
      },
      skip() {
        if (used) return;
        claim();
        previous.then(release);
      },
    };
  }
}
