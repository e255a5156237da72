import { Counter, Histogram, type Registry } from "@herald/observability";

export type Outcome = "delivered" | "dropped" | "expired" | "retried" | "dead" | "invalid";

export class WorkerMetrics {
  readonly messages: Counter<"priority" | "outcome">;
  readonly jobSeconds: Histogram<"priority">;
  readonly unrouted: Counter<"priority">;
  readonly deadTrimmed: Counter;

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
    this.unrouted = new Counter({
      name: "herald_worker_unrouted_total",
      help: "Deliveries with no live node holding the user or topic",
      labelNames: ["priority"],
      registers,
    });
    this.deadTrimmed = new Counter({
      name: "herald_dead_letters_trimmed_total",
      help: "Dead letters dropped because the dead-letter queue was at capacity",
      registers,
    });
  }
}
