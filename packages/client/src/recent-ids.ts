/**
 * The last `max` message ids of one channel, oldest dropped first: enough to recognise a
 * critical message re-sent until acknowledged, or a replayed message that also came live.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly max: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remembers `id`; false if it was already there. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }

  delete(id: string): void {
    this.ids.delete(id);
  }
}
