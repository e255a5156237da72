import { carriesPublishes, type Delivery, decodeDeliveries, type Lane } from "@herald/protocol";
import type { BusHandlers, BusSubscriber } from "@herald/routing";
import { bulkSliceMs } from "./bulk-slices.js";
import { Inbox } from "./bus-inbox.js";

/** What the edge does with the deliveries the bus brings. */
export interface DeliverySink {
  onDelivery(d: Delivery): void;
  /**
   * The moment to flush corked writes: after each urgent payload, and after each slice of
   * bulk ones (a socket's deliveries from all the payloads in a slice go in one write).
   */
  onBatchEnd(): void;
  /** A lane's subscription came back after dropping; `handedOver` payloads kept meanwhile were delivered (undefined: not readable). */
  onResubscribed(lane: Lane, handedOver: number | undefined): void;
  /** Lines that could not be decoded (a worker and an edge of different versions). */
  onMalformed(lines: number): void;
}

/** How much bulk the edge reads ahead of what it has written: past the high mark it stops reading. */
const BULK_INBOX = { highWaterBytes: 4 << 20, lowWaterBytes: 1 << 20 };

/**
 * The edge's intake from the bus. Urgent payloads are decoded and written the moment they
 * arrive; bulk ones go through an Inbox handled a few milliseconds at a time, so the urgent
 * lane is read in between, and bounded, so a backlog stays in the bus (Redis), where the
 * workers see it and hold back (docs/decisions/lanes.md).
 */
export class BusIntake {
  private readonly inbox: Inbox;
  private lastUrgentAt = Number.NEGATIVE_INFINITY;
  private lastBulkPublishAt = Number.NEGATIVE_INFINITY;
  private readonly clock: () => number;

  constructor(
    private readonly bus: BusSubscriber,
    private readonly sink: DeliverySink,
    clock: () => number = () => performance.now(),
  ) {
    this.clock = clock;
    this.inbox = new Inbox(
      { ...BULK_INBOX, sliceMs: () => this.sliceMs() },
      {
        process: (payload) => this.decode(payload),
        sliceEnd: () => sink.onBatchEnd(),
        pause: () => bus.pause("bulk"),
        resume: () => bus.resume("bulk"),
      },
    );
  }

  /** Subscribes; resolves once deliveries published from now on arrive. */
  start(): Promise<void> {
    const handlers: BusHandlers = {
      onPayload: (lane, payload) => this.take(lane, payload),
      onResubscribed: (lane, handedOver) => this.sink.onResubscribed(lane, handedOver),
    };
    return this.bus.start(handlers);
  }

  /** Bulk payload characters read from the bus and not yet handled. */
  get bulkBacklog(): number {
    return this.inbox.queuedBytes;
  }

  private take(lane: Lane, payload: string): void {
    if (lane === "urgent") {
      this.lastUrgentAt = this.clock();
      this.decode(payload);
      this.sink.onBatchEnd();
      return;
    }
    if (carriesPublishes(payload)) this.lastBulkPublishAt = this.clock();
    this.inbox.push(payload);
  }

  private decode(payload: string): void {
    const malformed = decodeDeliveries(payload, (d) => this.sink.onDelivery(d));
    if (malformed) this.sink.onMalformed(malformed);
  }

  private sliceMs(): number {
    const now = this.clock();
    return bulkSliceMs(now - this.lastUrgentAt, now - this.lastBulkPublishAt);
  }
}
