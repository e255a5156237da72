import { type Delivery, encodeDelivery, type Lane } from "@herald/protocol";
import { type BusHandlers, type BusSubscriber, MemoryRouting } from "@herald/routing";
import { describe, expect, it } from "vitest";
import { BusIntake } from "./bus-intake.js";

const line = (frame: string, priority: Delivery["priority"]) =>
  encodeDelivery({ kind: "user", target: "ann", priority, ts: 0, frame });

describe("BusIntake", () => {
  it("writes urgent payloads as they come, bulk ones in slices, and counts malformed lines", async () => {
    const routing = new MemoryRouting();
    const events: string[] = [];
    const malformed: number[] = [];
    const intake = new BusIntake(routing.subscriber("n1"), {
      onDelivery: (d) => events.push(d.frame),
      onBatchEnd: () => events.push("|"),
      onResubscribed: (lane: Lane) => events.push(`resubscribed ${lane}`),
      onMalformed: (n) => malformed.push(n),
    });
    await intake.start();
    const presence = routing.presence("n1");
    await presence.heartbeat();
    await presence.addConnection("ann");
    const bus = routing.bus();
    await bus.deliver({
      deliveries: [{ kind: "user", target: "ann", priority: "low", ts: 0, frame: "b1" }],
      priority: "low",
      release: 0,
    });
    await bus.deliver({
      deliveries: [{ kind: "user", target: "ann", priority: "critical", ts: 0, frame: "u1" }],
      priority: "critical",
      release: 0,
    });
    await expect.poll(() => events.filter((e) => e !== "|")).toEqual(["u1", "b1"]);
    expect(events).toEqual(["u1", "|", "b1", "|"]); // each batch ends with a flush
    expect(intake.bulkBacklog).toBe(0);
    expect(malformed).toEqual([]);
  });

  it("counts lines it cannot decode and still writes the rest of the payload", async () => {
    let handlers: BusHandlers | undefined;
    const paused: string[] = [];
    const subscriber: BusSubscriber = {
      start: async (h) => {
        handlers = h;
      },
      pause: (lane) => paused.push(`pause ${lane}`),
      resume: (lane) => paused.push(`resume ${lane}`),
    };
    const frames: string[] = [];
    const malformed: number[] = [];
    const intake = new BusIntake(subscriber, {
      onDelivery: (d) => frames.push(d.frame),
      onBatchEnd: () => undefined,
      onResubscribed: () => undefined,
      onMalformed: (n) => malformed.push(n),
    });
    await intake.start();
    handlers?.onPayload("urgent", `garbage\n${line("ok", "critical")}\nx9\t1\t2\t3`);
    expect(frames).toEqual(["ok"]);
    expect(malformed).toEqual([2]);
    expect(paused).toEqual([]);
  });
});
