import { waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, msg } from "./support/gateway.js";

const handlers = new URL("./fixtures/handlers.mjs", import.meta.url).pathname;
let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({
    workers: 0,
    env: { HERALD_HANDLERS: handlers, TEST_SLOW_MS: "100", HERALD_WORKER_CONCURRENCY: "4" },
  });
});
afterAll(() => g?.stop());

describe("priority queues", () => {
  it("delivers a critical message before a backlog of low ones drains", async () => {
    const c = await g.connect("busy");
    const producer = g.producer();
    try {
      // 2,000 low messages in 20 jobs of 100; 4 at a time at 100 ms each: about half a second per wave, 2.5 s in all.
      const low = Array.from({ length: 2000 }, (_, i) =>
        msg({ user: "busy" }, "slow-low", { priority: "low", data: { i } }),
      );
      await Promise.all([producer.sendMany(low.slice(0, 1000)), producer.sendMany(low.slice(1000))]);
      await g.startWorker();
      await waitFor(() => c.messages().length > 0, "the low backlog to start draining");
      const worker = g.workers[0] as (typeof g.workers)[number];
      const rested = () => g.metric(worker, "herald_worker_bulk_rest_seconds_total");
      expect(await rested()).toBe(0); // no urgent traffic yet: bulk jobs take the whole worker
      await producer.send(msg({ user: "busy" }, "urgent", { priority: "critical" }));
      await c.next((f) => f.event === "urgent", "the critical message");
      const before = c.messages().findIndex((f) => f.event === "urgent");
      expect(before).toBeLessThan(1000);
      await waitFor(() => c.messages().length === 2001, "the whole backlog", 30_000);
      // Low messages keep their order among themselves.
      const lows = c
        .messages()
        .filter((f) => f.event === "slow-low")
        .map((f) => (f.data as { i: number }).i);
      expect(lows).toEqual(low.map((_, i) => i));
      // For a second after the critical job, bulk jobs rested their share (100 ms jobs, share 0.5).
      expect(await rested()).toBeGreaterThan(0.05);
      // The queue wait metric saw it: the backlog's later jobs waited over a second, the critical one less.
      const wait = (labels: Record<string, string>, series = "count") =>
        g.metric(worker, `herald_worker_queue_wait_seconds_${series}`, labels);
      const lowJobs = await wait({ priority: "low" });
      expect(lowJobs).toBeGreaterThanOrEqual(2);
      expect(await wait({ priority: "low", le: "1" }, "bucket")).toBeLessThan(lowJobs);
      expect(await wait({ priority: "critical" })).toBe(1);
      expect(await wait({ priority: "critical", le: "1" }, "bucket")).toBe(1);
    } finally {
      await producer.close();
      c.close();
    }
  });
});
