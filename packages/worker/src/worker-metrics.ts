import { Counter, Gauge, Histogram, type Registry } from "@herald/observability";

export type Outcome = "delivered" | "dropped" | "expired" | "retried" | "dead" | "invalid";

export class WorkerMetrics {
  readonly messages: Counter<"priority" | "outcome">;
  readonly jobSeconds: Histogram<"priority">;
  readonly queueWaitSeconds: Histogram<"priority">;
  readonly unrouted: Counter<"priority">;
  readonly unroutedKept: Counter<"priority">;
  readonly deadTrimmed: Counter;
  readonly busBacklog: Gauge<"lane">;
  readonly lanePaused: Gauge<"lane">;
  readonly lanePauses: Counter<"lane">;
  readonly bulkRestSeconds: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.messages = new Counter({
      name: "herald_worker_messages_total",
      help: "Messages processed by outcome",
      labelNames: ["priority", "outcome"],
      registers,
    });
    this.jobSeconds = new Histogram({
      name: "herald_worker_job_duration_seconds",
      help: "Time to process one packed job (handlers, routing, publish)",
      labelNames: ["priority"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
      registers,
    });
    this.queueWaitSeconds = new Histogram({
      name: "herald_worker_queue_wait_seconds",
      help: "From a job's enqueue (producer's clock, less any delay it was given) to a worker starting it",
      labelNames: ["priority"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300],
      registers,
    });
    this.bulkRestSeconds = new Counter({
      name: "herald_worker_bulk_rest_seconds_total",
      help: "Time bulk (normal, low) jobs waited to start so urgent ones had the worker (HERALD_WORKER_BULK_SHARE)",
      registers,
    });
    this.unrouted = new Counter({
      name: "herald_worker_unrouted_total",
      help: "Users or topics of a published batch that no live node held and whose channel keeps no history: lost",
      labelNames: ["priority"],
      registers,
    });
    this.unroutedKept = new Counter({
      name: "herald_worker_unrouted_kept_total",
      help: "Users or topics of a published batch that no live node held, kept in their channel's history for replay",
      labelNames: ["priority"],
      registers,
    });
    this.deadTrimmed = new Counter({
      name: "herald_dead_letters_trimmed_total",
      help: "Dead letters dropped because the dead-letter queue was at capacity",
      registers,
    });
    this.busBacklog = new Gauge({
      name: "herald_bus_backlog_bytes",
      help: "Largest output buffer Redis holds for one edge's subscriber, per lane (at the last poll)",
      labelNames: ["lane"],
      registers,
    });
    this.lanePaused = new Gauge({
      name: "herald_worker_lane_paused",
      help: "1 while this worker holds back a lane because an edge is behind",
      labelNames: ["lane"],
      registers,
    });
    this.lanePauses = new Counter({
      name: "herald_worker_lane_pauses_total",
      help: "Times this worker paused a lane because an edge was behind",
      labelNames: ["lane"],
      registers,
    });
  }
}
