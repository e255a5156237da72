/**
 * A stand-in for one client's uWebSockets.js socket in unit tests of the edge: it records
 * what the edge sends, subscribes and closes, and lets a test set how much is unsent. It
 * has the shape of the edge's `ClientSocket`, so no network is involved.
 */
export class RecordingSocket {
  readonly sent: string[] = [];
  readonly topics = new Set<string>();
  closed: { code: number | undefined; text: string | undefined } | undefined;
  /** What `getBufferedAmount` answers: bytes the client has not read yet. */
  buffered = 0;
  corks = 0;
  pings = 0;

  send(text: string): number {
    if (this.closed) return 0;
    this.sent.push(text);
    return 1;
  }
  subscribe(topic: string): boolean {
    this.topics.add(topic);
    return true;
  }
  unsubscribe(topic: string): boolean {
    return this.topics.delete(topic);
  }
  end(code?: number, text?: string): void {
    this.closed ??= { code, text };
  }
  cork(write: () => void): void {
    this.corks++;
    write();
  }
  getBufferedAmount(): number {
    return this.buffered;
  }
  ping(): number {
    this.pings++;
    return 1;
  }

  /** The frames sent, parsed. */
  frames(): { type: string; [key: string]: unknown }[] {
    return this.sent.map((s) => JSON.parse(s));
  }
}
