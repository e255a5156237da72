import { Counter, Gauge, gaugeReadAtScrape, Histogram, LATENCY_BUCKETS, type Registry } from "@herald/observability";

/** The edge's metrics. Label values come from small fixed sets, never user or channel ids. */
export class EdgeMetrics {
  readonly connections: Gauge;
  readonly delivered: Counter<"priority">;
  readonly latency: Histogram<"priority">;
  readonly closed: Counter<"reason">;
  readonly frameErrors: Counter<"code">;
  readonly accepted: Counter<"priority">;
  readonly httpRequests: Counter<"route" | "status">;
  readonly upgradesRefused: Counter<"reason">;
  readonly bus: EdgeBusMetrics;
  readonly canary: { roundTrip: Gauge<"lane">; lost: Counter<"lane"> };
  readonly presenceRestores: Counter<"reason">;
  readonly handlerErrors: Counter<"handler" | "kind">;
  readonly replayed: Counter;
  readonly acks: Counter;

  constructor(registry: Registry, connectionCount: () => number, busInboxBytes: () => number) {
    const registers = [registry];
    this.connections = gaugeReadAtScrape(
      { name: "herald_connections", help: "Client connections open or opening on this edge", registers },
      connectionCount,
    );
    this.bus = new EdgeBusMetrics(registry, busInboxBytes);
    this.presenceRestores = presenceRestores(registers);
    this.canary = canaryMetrics(registers);
    this.handlerErrors = new Counter({
      name: "herald_handler_errors_total",
      help: "Failures caught in request and socket handlers (kind bad_request: answered 400; internal: 500 or close 1011)",
      labelNames: ["handler", "kind"],
      registers,
    });
    const priority = { labelNames: ["priority"] as const, registers };
    const reason = { labelNames: ["reason"] as const, registers };
    this.delivered = new Counter({
      name: "herald_messages_delivered_total",
      help: "Messages written to client sockets (one per receiving connection)",
      ...priority,
    });
    this.latency = new Histogram({
      name: "herald_delivery_latency_seconds",
      help: "From acceptance to being written to the socket",
      buckets: LATENCY_BUCKETS,
      ...priority,
    });
    this.accepted = new Counter({
      name: "herald_messages_accepted_total",
      help: "Messages accepted through this edge's HTTP API",
      ...priority,
    });
    this.closed = new Counter({
      name: "herald_connections_closed_total",
      help: "Connections closed by the edge, by reason",
      ...reason,
    });
    this.upgradesRefused = new Counter({
      name: "herald_upgrades_refused_total",
      help: "WebSocket upgrades refused, by reason",
      ...reason,
    });
    this.replayed = new Counter({
      name: "herald_replayed_total",
      help: "History entries read for clients catching up with `since`",
      registers,
    });
    this.acks = new Counter({
      name: "herald_acks_total",
      help: "Acknowledgements of critical messages received from clients",
      registers,
    });
    this.frameErrors = new Counter({
      name: "herald_client_frame_errors_total",
      help: "Error frames sent to clients, by code",
      labelNames: ["code"],
      registers,
    });
    this.httpRequests = new Counter({
      name: "herald_http_requests_total",
      help: "Producer API requests by route and status",
      labelNames: ["route", "status"],
      registers,
    });
  }
}

/** What the edge takes from the bus. */
export class EdgeBusMetrics {
  readonly received: Counter<"kind">;
  readonly reconnects: Counter<"lane">;
  readonly malformed: Counter;
  readonly inbox: Gauge;

  constructor(registry: Registry, busInboxBytes: () => number) {
    const registers = [registry];
    this.inbox = gaugeReadAtScrape(
      {
        name: "herald_bus_inbox_bytes",
        help: "Bulk deliveries read from Redis and not yet written (the edge stops reading past 4 MiB)",
        registers,
      },
      busInboxBytes,
    );
    this.received = new Counter({
      name: "herald_bus_deliveries_received_total",
      help: "Deliveries this node took from the bus, by kind (routing sends a node only what it holds)",
      labelNames: ["kind"],
      registers,
    });
    this.reconnects = new Counter({
      name: "herald_bus_reconnects_total",
      help: "Times a bus subscriber connection came back after dropping; what was published to this edge meanwhile was kept and delivered then",
      labelNames: ["lane"],
      registers,
    });
    this.malformed = new Counter({
      name: "herald_bus_malformed_lines_total",
      help: "Delivery lines from the bus that could not be decoded (worker and edge versions differ)",
      registers,
    });
  }
}

function presenceRestores(registers: Registry[]): Counter<"reason"> {
  return new Counter({
    name: "herald_presence_restores_total",
    help: "Times this edge put its users and topics back in Redis after they were lost (reason: rejoined, canary, failed)",
    labelNames: ["reason"],
    registers,
  });
}

function canaryMetrics(registers: Registry[]): EdgeMetrics["canary"] {
  return {
    roundTrip: new Gauge({
      name: "herald_canary_round_trip_seconds",
      help: "The last canary's time from publish to this edge, per lane",
      labelNames: ["lane"],
      registers,
    }),
    lost: new Counter({
      name: "herald_canary_lost_total",
      help: "Canaries this edge published to itself that never came back, per lane",
      labelNames: ["lane"],
      registers,
    }),
  };
}
