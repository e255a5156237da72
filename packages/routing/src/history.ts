/** What `History.resume` is asked for. */
export interface ResumeRequest {
  /** The last message the client saw on the channel: replay what followed it. */
  since?: string | undefined;
  /** For a user's own channel: also return the user's unacknowledged critical messages. */
  userId?: string | undefined;
  /** Most entries replayed at once: past it, the answer is `too_many` and nothing is replayed. */
  limit: number;
}

/** What a (re)joining connection must be sent before it goes live on a channel. */
export interface ResumeResult {
  /**
   * "none": no replay was asked; "replay": `entries` follow `since`; "gap": `since` is not in
   * the history (trimmed, expired, lost with Redis's data, or never on this channel);
   * "too_many": more than the limit follow it. A gap is the client's cue to resynchronise.
   */
  status: "none" | "replay" | "gap" | "too_many";
  /** The user's critical messages not yet acknowledged (at-least-once), in no order. */
  unacked: { id: string; expires: number; frame: string }[];
  /** The channel's history after `since`, in channel order; `expires` is when each stops being replayed (0: never). */
  entries: { id: string; expires: number; frame: string }[];
}

/**
 * The edges' side of history: what a connection missed, and acknowledgements.
 *
 * - A delivery is appended when the bus publishes it, atomically with its routing: an edge
 *   that registered before that receives it live, and one that asks after finds it here.
 *   A channel's history is in the order its messages were published, the order every edge
 *   received them in.
 * - Entries are kept per channel up to the channel's limits (count and age); an entry past
 *   its message's ttl or the channel's age is replayed by nobody (callers skip `expires`
 *   in the past), but still marks where a client stands.
 */
export interface History {
  resume(channel: string, request: ResumeRequest): Promise<ResumeResult>;
  /** The user acknowledged a critical message: it is no longer re-sent. */
  ack(userId: string, id: string): Promise<void>;
}
