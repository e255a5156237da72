/**
 * Counts this node's local subscribers per topic and registers the node in Redis on
 * the first one and out on the last, so workers route a topic only to nodes that
 * hold subscribers. Every joiner waits for the same registration to finish.
 */
export class TopicInterest {
  private readonly topics = new Map<string, { count: number; ready: Promise<void> }>();

  constructor(
    private readonly register: (topic: string) => Promise<unknown>,
    private readonly unregister: (topic: string) => Promise<unknown>,
    private readonly onError: (err: unknown, topic: string) => void,
  ) {}

  /** Resolves once this node is registered for the topic; on rejection the join did not count. */
  join(topic: string): Promise<void> {
    const entry = this.topics.get(topic);
    if (entry) {
      entry.count++;
      return entry.ready;
    }
    const ready = this.register(topic).then(
      () => undefined,
      (err: unknown) => {
        if (this.topics.get(topic)?.ready === ready) this.topics.delete(topic);
        throw err;
      },
    );
    this.topics.set(topic, { count: 1, ready });
    return ready;
  }

  /** The registration a joined topic waits for (resolved once registered), or undefined if no one joined it. */
  whenReady(topic: string): Promise<void> | undefined {
    return this.topics.get(topic)?.ready;
  }

  leave(topic: string): void {
    const entry = this.topics.get(topic);
    if (!entry) return;
    if (--entry.count > 0) return;
    this.topics.delete(topic);
    this.unregister(topic).catch((err: unknown) => this.onError(err, topic));
  }

  /** The topics this node is registered for (or registering). */
  names(): IterableIterator<string> {
    return this.topics.keys();
  }

  get size(): number {
    return this.topics.size;
  }
}
